# CLI tests: the `flashcore` binary as users call it. Each test has its own cache folder.
set(_cli $<TARGET_FILE:flashcore_cli>)
set(_expect ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
set(_cli_cache ${CMAKE_CURRENT_BINARY_DIR}/cli-cache)

function(flashcore_cli_test name)
  cmake_parse_arguments(ARG "GPU" "EXIT;MATCH" "ENV;COMMAND" ${ARGN})
  set(gpu_flag "")
  if(ARG_GPU)
    set(gpu_flag --gpu)
  endif()
  add_test(NAME "cli: ${name}" COMMAND ${_expect} ${gpu_flag} ${ARG_EXIT} "${ARG_MATCH}" -- ${ARG_COMMAND})
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

# Packaging: install to a scratch prefix, then build and run examples/ against it.
add_test(NAME "package: install and build the example against it"
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-test
    -P ${CMAKE_CURRENT_SOURCE_DIR}/cli/package_test.cmake)
