# CLI tests of the cache (issue 12 hardening, issue 13 deployment tiers). Each has its own
# cache folder (flashcore_cli_test) or makes one (scripts).
set(_templates ${CMAKE_CURRENT_SOURCE_DIR}/templates)
set(_toy6 "toy_attention:threads=64|128|256,smem_kb=0|40")

flashcore_cli_test("cache: prune age out of range is bad input" EXIT 2 MATCH "--older-than-days='1e12'.*out of range"
  COMMAND ${_cli} cache prune --older-than-days 1e12)
flashcore_cli_test("cache: prune age inf is bad input" EXIT 2 MATCH "--older-than-days='inf'"
  COMMAND ${_cli} cache prune --older-than-days inf)
flashcore_cli_test("cache: prune size that overflows is bad input" EXIT 2 MATCH "--max-bytes='17179869184G'.*1 EiB"
  COMMAND ${_cli} cache prune --max-bytes 17179869184G)
flashcore_cli_test("cache: prune size too long for a number is bad input" EXIT 2 MATCH "--max-bytes='99999999999999999999999'"
  COMMAND ${_cli} cache prune --max-bytes 99999999999999999999999)
flashcore_cli_test("cache: FLASHCORE_CACHE_MAX_BYTES out of range is bad input" EXIT 2
  MATCH "FLASHCORE_CACHE_MAX_BYTES='17179869184G'"
  ENV "FLASHCORE_CACHE_MAX_BYTES=17179869184G" COMMAND ${_cli} cache stats)
flashcore_cli_test("cache: FLASHCORE_CACHE_LOCK_TIMEOUT is checked" EXIT 2 MATCH "FLASHCORE_CACHE_LOCK_TIMEOUT='abc'"
  ENV "FLASHCORE_CACHE_LOCK_TIMEOUT=abc" COMMAND ${_cli} cache stats)
flashcore_cli_test("cache: FLASHCORE_TEMPLATE_DIR that does not exist is bad input" EXIT 2
  MATCH "FLASHCORE_TEMPLATE_DIR names '/nonexistent'"
  ENV "FLASHCORE_TEMPLATE_DIR=/nonexistent" COMMAND ${_cli} cache stats)
flashcore_cli_test("cache: a wildcard that expands too far is refused before compiling" EXIT 2
  MATCH "expands to more than 4096 variants"
  COMMAND ${_cli} build "attention_wmma:block_m=*,block_n=*,warps=*,copy=*,stages=*,p_dtype=*,causal=*,stage=*,dtype=*,head_dim=*,fault=*" --arch sm_89)

foreach(script kill_storm cache_read_only cache_deploy)
  add_test(NAME "cli: cache ${script}" COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/${script}.sh)
  set_tests_properties("cli: cache ${script}" PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180
    ENVIRONMENT "FLASHCORE_CLI=${_cli};FLASHCORE_TEST_TEMPLATES=${_templates}")
endforeach()
