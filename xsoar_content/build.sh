#!/usr/bin/env bash
# Validate the content pack with demisto-sdk and zip it into an importable archive.
# Usage: build.sh DEMISTO_SDK OUTPUT_DIR
# demisto-sdk expects Palo Alto's content repository (Packs/<pack>/ in a git repository): the pack is
# copied into a throwaway one, marked private (.private-repo-settings) so that nothing is fetched from
# the content repository on GitHub, and validated with validate_config.toml (the content repository's
# selection of checks, without those that need the content graph).
set -euo pipefail
sdk=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
pack=SekoiaIOAlerts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/Packs"
cp -r "$here/Packs/$pack" "$work/Packs/"
echo '{}' >"$work/.private-repo-settings"
git -C "$work" init --quiet
git -C "$work" add --all
git -C "$work" -c user.name=build -c user.email=build@localhost commit --quiet --message "$pack"

export DEMISTO_SDK_IGNORE_CONTENT_WARNING=true DEMISTO_SDK_SKIP_VERSION_CHECK=true
cd "$work"
"$sdk" validate --input "Packs/$pack" --config-path "$here/validate_config.toml" 2>&1 |
    grep -v "^Could not get repository properties" || { echo "demisto-sdk validate failed" >&2; exit 1; }
"$sdk" zip-packs --input "Packs/$pack" --output "$work/zipped" >/dev/null 2>&1 || {
    echo "demisto-sdk zip-packs failed" >&2
    exit 1
}
mkdir -p "$out"
cp "$work/zipped/uploadable_packs/$pack.zip" "$out/$pack.zip"
echo "Written: $out/$pack.zip"
