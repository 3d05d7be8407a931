#!/usr/bin/env bash
# Checks that a shared library exports flashcore:: symbols only (cmake/flashcore.map): no
# spdlog, fmt or nlohmann code a host process could bind to by accident.
#   exported_symbols.sh LIBRARY
set -u
lib=${1:?library}
symbols=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }') || { echo "nm failed on $lib" >&2; exit 1; }
total=$(printf '%s\n' "$symbols" | grep -c .)
# Mangled names whose outermost scope is namespace flashcore (functions, data, typeinfo,
# vtables, thunks, function-local statics), std::hash<flashcore::...>, or a C function named
# flashcore_*.
allowed='^_Z(N[KRO]*|ZN[KRO]*|GVZN[KRO]*|GVN|TIN|TSN|TVN|TTN|THN|TWN|Th[n0-9]*_N|Tv[n0-9_]*N)9flashcore|^_ZN[KRO]*St4hashIN9flashcore|^flashcore_'
others=$(printf '%s\n' "$symbols" | grep -Ev "$allowed" | grep .)
third_party=$(printf '%s\n' "$symbols" | c++filt | grep -E '^([^(<]* )?(spdlog|fmt|nlohmann)::')
echo "$lib: $total exported symbols"
status=0
if [ -n "$third_party" ]; then
  echo "FAIL: $(printf '%s\n' "$third_party" | grep -c .) spdlog/fmt/nlohmann symbols exported, e.g.:" >&2
  printf '%s\n' "$third_party" | head -5 >&2
  status=1
fi
if [ -n "$others" ]; then
  echo "FAIL: $(printf '%s\n' "$others" | grep -c .) symbols outside namespace flashcore exported, e.g.:" >&2
  printf '%s\n' "$others" | c++filt | head -5 >&2
  status=1
fi
# The library's API itself must still be there (an empty export list would also pass the above).
for api in 'flashcore::Runtime::Runtime' 'typeinfo for flashcore::Error' 'flashcore::parse_variant'; do
  if ! printf '%s\n' "$symbols" | c++filt | grep -qF "$api"; then
    echo "FAIL: $api is not exported" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "ok: only flashcore:: symbols"
exit $status
