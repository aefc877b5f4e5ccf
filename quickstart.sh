#!/usr/bin/env bash
# Set up everything Backroom needs on a Debian/Ubuntu machine, then run the demo or the tests.
#   ./quickstart.sh demo [options]   start BILLSYS, re-key the sample orders, print the report's path
#   ./quickstart.sh test [pytest options]
#   ./quickstart.sh lock             refresh constraints.txt: the newest versions pyproject.toml allows
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

usage() { echo "usage: ./quickstart.sh demo|test|lock [options]" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1; shift

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "Please install as root: $*" >&2; exit 1; fi; }

# System packages: Chromium (Playwright drives Debian's build; it cannot download its own here),
# Python's venv and Tk (the bundled desktop app), and for desktop bots a virtual screen (Xvfb),
# the clipboard tool (xclip) and the font the desktop app's templates were captured in.
missing=()
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null || missing+=(chromium)
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
python3 -c "import tkinter" 2>/dev/null || missing+=(python3-tk)
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xclip >/dev/null || missing+=(xclip)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The recorder's input capture (pynput) needs evdev on Linux, which PyPI has only as source: it is
# built with a C compiler against Python's headers.
command -v gcc >/dev/null || missing+=(gcc)
python3 -c "import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
  || missing+=(python3-dev)
# The desktop recorder names controls after the words on them, read by Tesseract.
command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
# The tests also let LibreOffice recalculate the reconciliation workbook's formulas and render
# an invoice to PDF, poppler turn that PDF into a picture and text, tmux give the runner
# menu a real terminal, and xdotool click and type for the desktop recorder's test (none of
# them needed to run bots).
office=()
if [ "$what" = test ]; then
  command -v soffice >/dev/null || office+=(libreoffice-writer-nogui libreoffice-calc-nogui)
  command -v pdftoppm >/dev/null || office+=(poppler-utils)
  command -v tmux >/dev/null || office+=(tmux)
  command -v xdotool >/dev/null || office+=(xdotool)
  command -v scrot >/dev/null || office+=(scrot)   # pyautogui's screenshots, which the desktop benchmark compares
  # Tryton's web client (sao) comes from the npm registry, for the recorder's test on an ERP nobody here wrote
  command -v npm >/dev/null || office+=(npm)
  # desktop programs nobody here wrote, recorded and replayed by the recorder's tests: a Qt editor and a GTK one
  command -v featherpad >/dev/null || office+=(featherpad)
  command -v mousepad >/dev/null || office+=(mousepad)
  # the work queue's tests start a PostgreSQL server of their own (initdb, pg_ctl) in a temporary folder
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || office+=(postgresql)
  # the README's systemd units are checked with systemd's own verifier
  command -v systemd-analyze >/dev/null || office+=(systemd)
  # two runners as two machines: network namespaces joined by veth links (ip)
  command -v ip >/dev/null || office+=(iproute2)
fi
if [ $(( ${#missing[@]} + ${#office[@]} )) -gt 0 ]; then
  echo "Installing system packages: ${missing[*]} ${office[*]}"
  as_root apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # without recommends: LibreOffice's recommended packages (Java, extra fonts) are large and unused here
  [ ${#office[@]} -eq 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${office[@]}" >/dev/null
fi

# Every extra, at the versions constraints.txt pins.
extras='.[desktop,recorder,postgres,test]'

if [ "$what" = lock ]; then
  # A throw-away environment with the newest versions pyproject.toml allows, written down.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  python3 -m venv "$scratch/venv"
  "$scratch/venv/bin/python" -m pip install -q --upgrade pip
  "$scratch/venv/bin/python" -m pip install -q "$extras"
  { echo "# The exact versions quickstart and CI install (pip install -c constraints.txt ...)."
    echo "# Refresh with: ./quickstart.sh lock"
    "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -iv '^backroom[ =@]'
  } > constraints.txt
  echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
  exit 0
fi

# The virtual environment and the package, reinstalled when pyproject.toml or constraints.txt change.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.backroom-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing Backroom and its Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e "$extras"
  echo "$wanted" > "$stamp"
fi

# The recorder's tests serve Tryton's web client: the version package-lock.json pins, from the npm registry.
sao=tests/third_party/tryton_sao
if [ "$what" = test ] && [ "$(cat "$sao/node_modules/.installed" 2>/dev/null)" != "$(sha256sum < "$sao/package-lock.json")" ]; then
  echo "Installing Tryton's web client (npm) into $sao"
  (cd "$sao" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  sha256sum < "$sao/package-lock.json" > "$sao/node_modules/.installed"
fi

case "$what" in
  demo) exec .venv/bin/backroom demo run "$@" ;;
  test) exec .venv/bin/python -m pytest "$@" ;;
  *) usage ;;
esac
