// Guessing a config's kind from its top-level keys, for `nines check`.
#include "base/command.h"

#include "base/config.h"

namespace nines {

std::string GuessConfigKind(const std::string& file) {
  ConfigErrors errors;
  std::optional<ConfigValue> root = LoadConfigFile(file, &errors);
  if (!root) return "";
  if (root->Find("server") || root->Find("balance")) return "lb";
  if (root->Find("member") || root->Find("data_dir")) return "store";
  if (root->Find("zone")) return "dns";
  // An app.toml has a string `region` too: its `store` list and `listen` tell it apart.
  const ConfigEntry* store = root->Find("store");
  if (store && store->value.type == ConfigValue::Type::kArray && root->Find("listen")) return "app";
  if (root->Find("regions") || root->Find("region") || root->Find("blueprint")) return "up";
  if (root->Find("store")) return "app";
  return "";
}

}  // namespace nines
