# tools/apt.sh - sourced by bootstrap.sh and fuzz.sh.
# sw_apt_install WHO PKG...: install those of the Debian packages that are not installed yet
# (apt-get update first; through sudo when not root). WHO names the caller in the message.
sw_apt_install() {
  local who=$1 p sudo="" missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$who: installing ${missing[*]}"
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
