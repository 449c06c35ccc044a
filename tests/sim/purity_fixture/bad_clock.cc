// Fixture for the purity check: this file must be rejected (it reads the clock).
#include <chrono>
