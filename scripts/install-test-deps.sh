#!/usr/bin/env bash
# install-test-deps.sh installs what the tests run for real, when missing:
#   - influxd 1.8.10, built from source into ./.bin (reused if present);
#   - the Debian packages prometheus, ngircd and wamerican (only as root, via apt-get).
# An apt failure is a warning (the tests that need the binary then skip, or
# fail under CI=true); a failed influxd build is an error under CI=true.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.bin"
influxd_version="1.8.10"
status=0

warn() { printf '\033[1;33mWARNING:\033[0m %s\n' "$*" >&2; }

# --- influxd -----------------------------------------------------------------
stamp="$bin/influxd.version"
if [[ -x "$bin/influxd" && "$(cat "$stamp" 2>/dev/null)" == "$influxd_version" ]]; then
	echo "influxd $influxd_version: present in .bin/"
else
	echo "influxd $influxd_version: building into .bin/ (go install; takes a few minutes the first time)"
	mkdir -p "$bin"
	if GOFLAGS= GOBIN="$bin" go install "github.com/influxdata/influxdb/cmd/influxd@v$influxd_version"; then
		echo "$influxd_version" >"$stamp"
	else
		warn "could not build influxd $influxd_version: the InfluxDB tests will skip (or fail under CI=true)"
		[[ "${CI:-}" == "true" ]] && status=1
	fi
fi

# --- Debian packages ---------------------------------------------------------
# package name -> the binary it provides
declare -A debs=([prometheus]=prometheus [ngircd]=ngircd)
missing=()
for pkg in "${!debs[@]}"; do
	b="${debs[$pkg]}"
	if command -v "$b" >/dev/null 2>&1 || [[ -x "/usr/sbin/$b" || -x "/usr/bin/$b" ]]; then
		echo "$pkg: present"
	else
		missing+=("$pkg")
	fi
done
# wamerican provides a word list, not a binary (signals/enrich's typo test).
if [[ -f /usr/share/dict/american-english ]]; then
	echo "wamerican: present"
else
	missing+=("wamerican")
fi

if ((${#missing[@]} > 0)); then
	if [[ "$(id -u)" != "0" ]]; then
		warn "missing ${missing[*]}; not root, so not installing. Run: sudo apt-get install -y ${missing[*]}"
	elif ! command -v apt-get >/dev/null 2>&1; then
		warn "missing ${missing[*]} and there is no apt-get: install them by hand"
	else
		echo "installing ${missing[*]} with apt-get"
		export DEBIAN_FRONTEND=noninteractive
		# Try with the current package lists first; refresh them only if that fails.
		if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/aftershock-apt.log 2>&1; then
			if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>/tmp/aftershock-apt.log 2>&1; then
				warn "apt-get could not install ${missing[*]} (see /tmp/aftershock-apt.log): tests needing them will skip, or fail under CI=true"
			fi
		fi
	fi
fi

exit "$status"
