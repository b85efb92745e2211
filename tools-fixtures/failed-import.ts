// Imports a package that is not installed (auto-install is off): loading fails (tool_error).
import missing from 'definitely-not-installed-package-xyz';

export default function failedImport() {
  return missing;
}
