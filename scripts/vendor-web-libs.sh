#!/usr/bin/env bash
# Fetch the dashboard's two JavaScript libraries from the npm registry into
# src/oomlens/server/web/static/vendor (committed: the server needs no network at run time).
# Versions are pinned; `npm pack` checks each tarball against the registry's sha512 integrity.
set -euo pipefail
HTMX=2.0.11    # htmx.org, Zero-Clause BSD
UPLOT=1.6.32   # uplot, MIT
vendor="$(cd "$(dirname "$0")/.." && pwd)/src/oomlens/server/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@$HTMX" "uplot@$UPLOT" >/dev/null
mkdir htmx uplot
tar xzf "htmx.org-$HTMX.tgz" -C htmx
tar xzf "uplot-$UPLOT.tgz" -C uplot
cp htmx/package/dist/htmx.min.js htmx/package/LICENSE "$vendor/htmx/"
cp uplot/package/dist/uPlot.iife.min.js uplot/package/dist/uPlot.min.css uplot/package/LICENSE \
   "$vendor/uplot/"
echo "vendored htmx.org $HTMX and uplot $UPLOT into $vendor"
