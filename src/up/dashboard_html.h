// The dashboard page: one self-contained HTML document (inline CSS and JS,
// no external fonts, CDNs or libraries) that polls GET /api/state every second.
#pragma once

namespace nines::up {

extern const char* const kDashboardHtml;

}  // namespace nines::up
