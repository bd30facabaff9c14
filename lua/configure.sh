#!/usr/bin/env bash
# Prints lua/gpool.lua configured with the module's load options, ready for FUNCTION LOAD:
#
#   lua/configure.sh [timezone <zone>] [debug-clock yes|no] | redis-cli -x FUNCTION LOAD REPLACE
#
# Options are the module's (docs/commands.md, "Load options"), names in any case; the
# defaults are the library's own (America/Los_Angeles, debug-clock no). A zone the library
# does not know is refused here and again by FUNCTION LOAD.
set -euo pipefail

library="$(dirname "$0")/gpool.lua"
timezone=""
debug_clock=""

while [ $# -gt 0 ]; do
    option=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    if [ $# -lt 2 ]; then
        echo "configure.sh: option '$1' needs a value" >&2
        exit 2
    fi
    case "$option" in
        timezone)
            # Zone names are letters, digits, '/', '_', '-' and '+'; anything else could
            # break out of the Lua string.
            if ! printf '%s' "$2" | grep -qx '[A-Za-z0-9/_+-]\+'; then
                echo "configure.sh: unknown time zone '$2'" >&2
                exit 2
            fi
            if ! grep -q "^  \['$2'\] = {" "$library"; then
                echo "configure.sh: unknown time zone '$2': the Lua library knows" \
                    "$(grep -o "^  \['[^']*'\] = {" "$library" | cut -d"'" -f2 | tr '\n' ' ')" >&2
                exit 2
            fi
            timezone="$2"
            ;;
        debug-clock)
            case "$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" in
                yes) debug_clock=true ;;
                no) debug_clock=false ;;
                *) echo "configure.sh: debug-clock takes yes or no, not '$2'" >&2; exit 2 ;;
            esac
            ;;
        *)
            echo "configure.sh: unknown option '$1': use timezone or debug-clock" >&2
            exit 2
            ;;
    esac
    shift 2
done

script=""
if [ -n "$timezone" ]; then
    script+="s|^local TIMEZONE = .*|local TIMEZONE = '$timezone'|;"
fi
if [ -n "$debug_clock" ]; then
    script+="s|^local DEBUG_CLOCK = .*|local DEBUG_CLOCK = $debug_clock|;"
fi
sed -e "${script:-p;d}" "$library"
