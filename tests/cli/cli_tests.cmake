# CLI tests: the `flashcore` binary as users call it. Each test has its own cache folder.
set(_cli $<TARGET_FILE:flashcore_cli>)
set(_expect ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
set(_cli_cache ${CMAKE_CURRENT_BINARY_DIR}/cli-cache)

# flashcore_cli_test(NAME [GPU] [JSON_LINES] EXIT code MATCH regex [ABSENT regex] [STDERR regex]
#                    [ENV var=value...] COMMAND ...) — tests/cli/expect.sh says what each checks.
function(flashcore_cli_test name)
  cmake_parse_arguments(ARG "GPU;JSON_LINES" "EXIT;MATCH;ABSENT;STDERR" "ENV;COMMAND" ${ARGN})
  set(flags "")
  if(ARG_GPU)
    list(APPEND flags --gpu)
  endif()
  if(ARG_JSON_LINES)
    list(APPEND flags --json-lines)
  endif()
  if(DEFINED ARG_ABSENT)
    list(APPEND flags --absent "${ARG_ABSENT}")
  endif()
  if(DEFINED ARG_STDERR)
    list(APPEND flags --stderr "${ARG_STDERR}")
  endif()
  add_test(NAME "cli: ${name}" COMMAND ${_expect} ${flags} ${ARG_EXIT} "${ARG_MATCH}" -- ${ARG_COMMAND})
  set_tests_properties("cli: ${name}" PROPERTIES SKIP_RETURN_CODE 77
    ENVIRONMENT "FLASHCORE_CLI=${_cli};FLASHCORE_CACHE_DIR=${_cli_cache}/${name};${ARG_ENV}")
endfunction()

flashcore_cli_test(help EXIT 0 MATCH "build" COMMAND ${_cli} --help)
foreach(verb devices templates build run cache demo probe compare bisect bench tune)
  flashcore_cli_test("help ${verb}" EXIT 0 MATCH "Usage|Options" COMMAND ${_cli} ${verb} --help)
endforeach()
flashcore_cli_test("no verb is bad usage" EXIT 2 MATCH "subcommand" COMMAND ${_cli})
flashcore_cli_test("bad value names field and allowed values" EXIT 2 MATCH "field 'dtype'.*'f64'.*\\{f16, bf16, f32\\}"
  COMMAND ${_cli} build reference_attention:dtype=f64 --arch sm_90)
flashcore_cli_test("unknown field" EXIT 2 MATCH "no field 'tile'.*dtype"
  COMMAND ${_cli} build reference_attention:tile=64 --arch sm_90)
flashcore_cli_test("unknown template" EXIT 2 MATCH "unknown template 'nope'; known templates: .*reference_attention"
  COMMAND ${_cli} build nope --arch sm_90)
flashcore_cli_test("violated constraint" EXIT 2 MATCH "mode=fancy needs threads >= 128"
  COMMAND ${_cli} --template-dir ${CMAKE_CURRENT_SOURCE_DIR}/templates build toy_attention:threads=64,mode=fancy --arch sm_90)
flashcore_cli_test("bad arch" EXIT 2 MATCH "not a target" COMMAND ${_cli} build reference_attention --arch hopper)
flashcore_cli_test("bad shape" EXIT 2 MATCH "must be B,Hq,Hkv,Sq,Skv,D"
  COMMAND ${_cli} run reference_attention --shape 1,8)
flashcore_cli_test("missing template dir" EXIT 2 MATCH "does not exist"
  COMMAND ${_cli} --template-dir /nonexistent/templates templates)
flashcore_cli_test("bisect of identical variants is bad usage" EXIT 2 MATCH "identical|same"
  COMMAND ${_cli} bisect --good reference_attention --bad reference_attention:dtype=f16 --shape 1,2,64,64)
flashcore_cli_test("bisect across templates is bad usage" EXIT 2 MATCH "template"
  COMMAND ${_cli} bisect --good reference_attention --bad attention_mma --shape 1,2,64,64)
flashcore_cli_test("compare with a bad variant is bad usage" EXIT 2 MATCH "cannot be 'f64'"
  COMMAND ${_cli} compare reference_attention:dtype=f64 reference --shape 1,2,64,64)
flashcore_cli_test("bench lists the anchor shapes without a GPU" EXIT 0 MATCH "\"Sq\":16384.*\"dtype\":\"bfloat16\""
  COMMAND ${_cli} bench --list --set all)
flashcore_cli_test("probe prints one verdict per variant" EXIT 1 MATCH "\"verdict\":\"invalid\""
  COMMAND ${_cli} probe reference_attention:dtype=f64 --shape 1,2,64,64)
flashcore_cli_test("probe reads its request as one JSON document" EXIT 1
  MATCH "no field 'block'.*\"variant\":\"reference_attention:block=1\",\"verdict\":\"invalid\""
  COMMAND ${_cli} probe --request-json ${CMAKE_CURRENT_SOURCE_DIR}/cli/probe_request.json)
flashcore_cli_test("a tensor-map template builds for sm_90 only" EXIT 2 MATCH "'tma_copy' needs sm_90 or newer, not sm_89"
  COMMAND ${_cli} --template-dir ${CMAKE_CURRENT_SOURCE_DIR}/templates build tma_copy --arch sm_89)
flashcore_cli_test("no driver: a tensor-map template fails with one typed error" EXIT 1 MATCH "no_driver.*no CUDA driver found"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1"
  COMMAND ${_cli} --template-dir ${CMAKE_CURRENT_SOURCE_DIR}/templates run tma_copy --shape 1,2,2,64,64,64)
flashcore_cli_test("tune without a GPU fails with the typed reason" EXIT 1 MATCH "no CUDA driver found"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} tune --shape 1,8,512,64)
flashcore_cli_test("templates json" EXIT 0 MATCH "\"template\":\"reference_attention\""
  COMMAND ${_cli} templates --json)
flashcore_cli_test("build json for sm_89 and sm_90a" EXIT 0
  MATCH "\"arch\":\"sm_90a\".*\"registers\":[1-9]"
  COMMAND ${_cli} build reference_attention --arch sm_89 --arch sm_90a --json)
flashcore_cli_test("promoted warning stops the build" EXIT 1 MATCH "local-wmma.*cannot perform wmma load or store on local memory"
  COMMAND ${_cli} --template-dir ${CMAKE_CURRENT_SOURCE_DIR}/templates build local_wmma --arch sm_90)
flashcore_cli_test("allowed warning builds" EXIT 0 MATCH "warning: .*local memory"
  COMMAND ${_cli} --template-dir ${CMAKE_CURRENT_SOURCE_DIR}/templates build local_wmma --arch sm_90 --allow-warning local-wmma)
flashcore_cli_test("forbid makes a miss an error" EXIT 1 MATCH "compiling is forbidden"
  ENV "FLASHCORE_JIT=forbid" COMMAND ${_cli} build reference_attention --arch sm_89)
flashcore_cli_test("no driver: devices says why" EXIT 0 MATCH "no CUDA driver found"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} devices)
flashcore_cli_test("no driver: run fails with one typed error" EXIT 1 MATCH "no_driver.*no CUDA driver found"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} run reference_attention --shape 1,8,128,64)
flashcore_cli_test("no driver: build still works" EXIT 0 MATCH "\"ok\":true"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} build reference_attention --arch sm_90 --json)
flashcore_cli_test("no driver: demo compiles and says nothing ran" EXIT 0 MATCH "NOTHING RAN"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} demo)
flashcore_cli_test("demo" EXIT 0 MATCH "PASS|NOTHING RAN" COMMAND ${_cli} demo)
flashcore_cli_test("run --verify on the mission shape" GPU EXIT 0 MATCH "vs cpu-fp64.*PASS"
  COMMAND ${_cli} run reference_attention --shape 1,8,8,512,512,64 --verify --graph)

add_test(NAME "cli: template edit recompiles without a rebuild" COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/template_edit.sh)
add_test(NAME "cli: cache verbs" COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/cache_cycle.sh)
set_tests_properties("cli: template edit recompiles without a rebuild" "cli: cache verbs" PROPERTIES
  ENVIRONMENT "FLASHCORE_CLI=${_cli};FLASHCORE_SOURCE_TEMPLATES=${PROJECT_SOURCE_DIR}/kernel_templates")

# Packaging: install to a scratch prefix, then build and run examples/ against it (CMake package
# and pkg-config file), and check what the exported target and headers say.
add_test(NAME "package: install and build the example against it"
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-test
    -DVERSION=${PROJECT_VERSION} -DCXX=${CMAKE_CXX_COMPILER} "-DCUDA_INCLUDE_DIRS=${CUDAToolkit_INCLUDE_DIRS}"
    -P ${CMAKE_CURRENT_SOURCE_DIR}/cli/package_test.cmake)

# --- the CLI as a new user meets it (issue 13) and hostile input (issue 12) --------------------
set(_templates ${CMAKE_CURRENT_SOURCE_DIR}/templates)
flashcore_cli_test("version" EXIT 0 MATCH "^flashcore ${PROJECT_VERSION}$" COMMAND ${_cli} --version)
flashcore_cli_test("unknown verb suggests the nearest" EXIT 2 MATCH "unknown command 'devcies'; did you mean 'devices'\\?"
  COMMAND ${_cli} devcies)
flashcore_cli_test("unknown verb far from any lists the verbs" EXIT 2 MATCH "unknown command 'frobnicate'; commands: devices, templates, build"
  COMMAND ${_cli} frobnicate)
flashcore_cli_test("help VERB" EXIT 0 MATCH "Usage: flashcore build" COMMAND ${_cli} help build)
flashcore_cli_test("help alone" EXIT 0 MATCH "help VERB" COMMAND ${_cli} help)
flashcore_cli_test("help of an unknown verb" EXIT 2 MATCH "unknown command 'biuld'; did you mean 'build'\\?" COMMAND ${_cli} help biuld)
flashcore_cli_test("json: an unknown verb is a JSON object too" JSON_LINES EXIT 2
  MATCH "^\\{.*\"error\":\"unknown command 'devcies'.*\"error_code\":\"bad_input\"" COMMAND ${_cli} devcies --json)
flashcore_cli_test("json: a usage error is a JSON object on stdout" JSON_LINES EXIT 2
  MATCH "^\\{.*\"error\":\"arch 'hopper' is not a target.*\"exit_code\":2" COMMAND ${_cli} build reference_attention --arch hopper --json)
flashcore_cli_test("json: a CLI11 parse error is a JSON object on stdout" JSON_LINES EXIT 2
  MATCH "^\\{.*\"error\":.*--bogus" COMMAND ${_cli} templates --json --bogus)
flashcore_cli_test("arch number out of range is bad usage, not an internal error" EXIT 2
  MATCH "SM number 99999999999999999999 is out of range" ABSENT "internal error"
  COMMAND ${_cli} build reference_attention --arch sm_99999999999999999999)
flashcore_cli_test("shape with a trailing comma is refused" EXIT 2 MATCH "field 5 is empty"
  COMMAND ${_cli} run reference_attention --shape 1,8,512,64,)
flashcore_cli_test("shape field out of range" EXIT 2 MATCH "'99999999999' is out of range" ABSENT "internal error"
  COMMAND ${_cli} run reference_attention --shape 1,8,99999999999,64)
flashcore_cli_test("named shape fields in any order" EXIT 0 MATCH "\"B\":2,\"D\":128,\"Hkv\":8,\"Hq\":32,\"Skv\":256,\"Sq\":128"
  COMMAND ${_cli} bench --list --dtypes f16 --shape D=128,Skv=256,Sq=128,Hkv=8,Hq=32,B=2)
flashcore_cli_test("named shape with a missing field" EXIT 2 MATCH "field Skv is missing"
  COMMAND ${_cli} run reference_attention --shape B=1,Hq=8,Hkv=8,Sq=64,D=64)
flashcore_cli_test("bench --dtypes takes --dtype's spellings" EXIT 0 MATCH "\"dtype\":\"bfloat16\""
  COMMAND ${_cli} bench --list --set mission --dtypes f16,bf16)
flashcore_cli_test("bench --dtypes refuses an empty item" EXIT 2 MATCH "empty item" COMMAND ${_cli} bench --list --dtypes bf16,)
foreach(_empty "--log-level '' devices" "run reference_attention --shape 1,2,64,64 --scale ''" "cache prune --max-bytes ''")
  flashcore_cli_test("empty value refused: ${_empty}" EXIT 2 MATCH "an empty value is not allowed"
    COMMAND sh -c "\"$0\" ${_empty}" ${_cli})
endforeach()
flashcore_cli_test("build --list prints a pattern's variants, compiles nothing" EXIT 0 MATCH "^reference_attention:dtype=bf16$"
  STDERR "reference_attention:dtype=\\*: 3 variants" ABSENT "compiled"
  COMMAND ${_cli} build "reference_attention:dtype=*" --list)
flashcore_cli_test("json: one bad variant does not stop the batch" JSON_LINES EXIT 2
  MATCH "\"error\":\"unknown template 'nope'.*\"ok\":false.*\"variant\":\"nope\"" STDERR "1 of 2 builds failed"
  COMMAND ${_cli} build nope reference_attention --arch sm_90 --json)
flashcore_cli_test("json: show-source and show-log stay inside the JSON objects" JSON_LINES EXIT 0
  MATCH "\"rendered_source\":\".*reference_attention_fwd" COMMAND ${_cli} build reference_attention --arch sm_90 --json --show-source --show-log)
flashcore_cli_test("build of a variant that does not fit the target fails" EXIT 1 MATCH "DOES NOT FIT"
  STDERR "does not fit sm_90" COMMAND ${_cli} --template-dir ${_templates} build toy_attention:smem_kb=300 --arch sm_90)
flashcore_cli_test("json: a variant that does not fit is ok false" JSON_LINES EXIT 1 MATCH "\"ok\":false.*\"smem_fits\":false"
  COMMAND ${_cli} --template-dir ${_templates} build toy_attention:smem_kb=300 --arch sm_90 --json)
flashcore_cli_test("a failed build says why on stderr" EXIT 1 STDERR "jit_forbidden.*reference_attention:dtype=f16 \\[sm_89\\]"
  MATCH "FAIL" ENV "FLASHCORE_JIT=forbid" COMMAND ${_cli} build reference_attention --arch sm_89)
flashcore_cli_test("no driver: probe's verdict is no_driver" JSON_LINES EXIT 1 MATCH "\"verdict\":\"no_driver\"" ABSENT "launch_fault"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} probe reference_attention --shape 1,2,64,64)
flashcore_cli_test("no driver: compare's verdict is no_driver" JSON_LINES EXIT 1 MATCH "\"verdict\":\"no_driver\"" ABSENT "launch_fault"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} compare reference_attention reference --shape 1,2,64,64 --json)
flashcore_cli_test("no driver: demo --json says nothing ran" JSON_LINES EXIT 0 MATCH "\"ok\":true.*\"ran\":false"
  ENV "FLASHCORE_DRIVER_LIBRARY=/nonexistent/libcuda.so.1" COMMAND ${_cli} demo --json)
flashcore_cli_test("a failing probe says why on stderr" EXIT 1 STDERR "probe reference_attention:dtype=f64: invalid: .*cannot be 'f64'"
  COMMAND ${_cli} probe reference_attention:dtype=f64 --shape 1,2,64,64)
# A terminal (script(1) gives the command one): a live line with count, rate, ETA and the
# variant being compiled. Piped (every other test): none — checked by the ABSENT below.
add_test(NAME "cli: progress line on a terminal only"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/progress_tty.sh ${_cli})
set_tests_properties("cli: progress line on a terminal only" PROPERTIES ENVIRONMENT "FLASHCORE_CACHE_DIR=${_cli_cache}/progress")
flashcore_cli_test("progress: nothing when piped" EXIT 0 MATCH "reference_attention:dtype=f32" ABSENT "ETA|building"
  COMMAND ${_cli} build "reference_attention:dtype=*" --arch sm_89 -j 1)

# Packaging: only flashcore:: symbols leave the library.
add_test(NAME "package: libflashcore.so exports only flashcore:: symbols"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/exported_symbols.sh $<TARGET_FILE:flashcore>)
