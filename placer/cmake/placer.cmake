# placer.cmake: run placer as part of a CMake build (a Zephyr application's CMakeLists.txt,
# or any project that has a Zephyr build directory to check).
#
# Find it with the placer that will run:
#
#   execute_process(COMMAND placer cmake-dir OUTPUT_VARIABLE PLACER_CMAKE_DIR
#                   OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
#   include(${PLACER_CMAKE_DIR}/placer.cmake)
#
# placer_place([TARGET <name>] [BUILD_DIR <dir>] [OUTPUT_DIR <dir>] [CONFIG <file>...]
#              [INPUTS <file>...] [DEPENDS <file-or-target>...] [ARGS <arg>...])
#
#   Runs 'placer place --build-dir <dir> -o <OUTPUT_DIR>' and writes the artefacts
#   (layout.json, noinit.ld or linker.ld, llext.conf, memory-map.svg) to OUTPUT_DIR
#   (default ${CMAKE_CURRENT_BINARY_DIR}/placer). The target <name> (default
#   placer_place) is built by default and re-runs placer only when one of its inputs
#   changed: the build's zephyr/.config, zephyr/zephyr.dts, zephyr/linker.cmd and
#   zephyr/zephyr.elf, and those of zephyr.map, version.h, linker_pass_final.cmd and
#   <board>.dts_compiled (Zephyr 2.x) that exist when CMake runs (INPUTS replaces the whole
#   list), the CONFIG fragments and DEPENDS. ARGS go to placer as they are
#   (--board, --pin, --maximize, ...).
#
# placer_verify(EXTENSIONS <file>... [TARGET <name>] [BUILD_DIR <dir>]
#               [INPUTS <file>...] [DEPENDS <file-or-target>...] [ARGS <arg>...])
#
#   Runs 'placer verify <extensions> --build-dir <dir>': loads each extension as Zephyr's
#   loader would. When one would not load, the build fails with placer's message. The
#   target <name> (default placer_verify) re-runs only when an extension or an input of
#   the build directory changed; a stamp file records the last success.
#
# BUILD_DIR defaults to the Zephyr application's build folder (APPLICATION_BINARY_DIR,
# what 'west build -d' names) or, outside a Zephyr build, CMAKE_BINARY_DIR. Inside a Zephyr
# build the targets also wait for the final image (zephyr_final).
#
# The placer command is PLACER_COMMAND (a list, e.g. "python3;-m;placer") if set, else the
# 'placer' program found beside this installed file or on PATH.

include_guard(GLOBAL)

if(NOT DEFINED PLACER_COMMAND)
  # Installed in a virtual environment, this file is <venv>/lib/pythonX.Y/site-packages/
  # placer/cmake/placer.cmake and the program <venv>/bin/placer.
  find_program(PLACER_EXECUTABLE placer
               HINTS "${CMAKE_CURRENT_LIST_DIR}/../../../../../bin")
  if(NOT PLACER_EXECUTABLE)
    message(FATAL_ERROR "placer.cmake: the 'placer' program was not found: install placer "
                        "(pip install placer) or set PLACER_COMMAND")
  endif()
  set(PLACER_COMMAND "${PLACER_EXECUTABLE}")
endif()

# The build directory and the files of it placer reads, for both functions.
function(_placer_build_inputs prefix build_dir inputs)
  if(NOT build_dir)
    if(DEFINED APPLICATION_BINARY_DIR)
      set(build_dir "${APPLICATION_BINARY_DIR}")
    else()
      set(build_dir "${CMAKE_BINARY_DIR}")
    endif()
  endif()
  get_filename_component(build_dir "${build_dir}" ABSOLUTE BASE_DIR "${CMAKE_BINARY_DIR}")
  if(NOT inputs)
    set(inputs "${build_dir}/zephyr/.config" "${build_dir}/zephyr/zephyr.dts"
               "${build_dir}/zephyr/linker.cmd" "${build_dir}/zephyr/zephyr.elf")
    # What else placer reads when it is there when CMake runs (a build made earlier): the
    # map, the version header, and a Zephyr 2.x build's final script and devicetree.
    file(GLOB optional LIST_DIRECTORIES false
         "${build_dir}/zephyr/zephyr.map"
         "${build_dir}/zephyr/include/generated/zephyr/version.h"
         "${build_dir}/zephyr/include/generated/version.h"
         "${build_dir}/zephyr/linker_pass_final.cmd"
         "${build_dir}/zephyr/*.dts_compiled")
    list(APPEND inputs ${optional})
  endif()
  set(${prefix}_BUILD_DIR "${build_dir}" PARENT_SCOPE)
  set(${prefix}_INPUTS "${inputs}" PARENT_SCOPE)
endfunction()

# A target that runs `command` to make `output` from `inputs`, built by default.
function(_placer_target target output comment inputs depends)
  add_custom_command(OUTPUT "${output}" ${ARGN}
                     DEPENDS ${inputs} ${depends}
                     COMMENT "${comment}"
                     VERBATIM)
  add_custom_target(${target} ALL DEPENDS "${output}")
  if(TARGET zephyr_final)
    add_dependencies(${target} zephyr_final)
  endif()
endfunction()

function(placer_place)
  cmake_parse_arguments(PARSE_ARGV 0 P "" "TARGET;BUILD_DIR;OUTPUT_DIR"
                        "CONFIG;INPUTS;DEPENDS;ARGS")
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "placer_place: unknown arguments ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_TARGET)
    set(P_TARGET placer_place)
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/placer")
  endif()
  get_filename_component(out "${P_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  _placer_build_inputs(B "${P_BUILD_DIR}" "${P_INPUTS}")
  set(config_args)
  set(configs)
  foreach(file IN LISTS P_CONFIG)
    get_filename_component(file "${file}" ABSOLUTE)
    list(APPEND config_args --config "${file}")
    list(APPEND configs "${file}")
  endforeach()
  _placer_target(${P_TARGET} "${out}/layout.json"
                 "placer: placing the LLEXT heaps of ${B_BUILD_DIR}"
                 "${B_INPUTS};${configs}" "${P_DEPENDS}"
                 COMMAND ${PLACER_COMMAND} place --build-dir "${B_BUILD_DIR}" -o "${out}"
                         ${config_args} ${P_ARGS})
endfunction()

function(placer_verify)
  cmake_parse_arguments(PARSE_ARGV 0 P "" "TARGET;BUILD_DIR"
                        "EXTENSIONS;INPUTS;DEPENDS;ARGS")
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "placer_verify: unknown arguments ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_EXTENSIONS)
    message(FATAL_ERROR "placer_verify: no EXTENSIONS given")
  endif()
  if(NOT P_TARGET)
    set(P_TARGET placer_verify)
  endif()
  _placer_build_inputs(B "${P_BUILD_DIR}" "${P_INPUTS}")
  set(extensions)
  foreach(file IN LISTS P_EXTENSIONS)
    get_filename_component(file "${file}" ABSOLUTE)
    list(APPEND extensions "${file}")
  endforeach()
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${P_TARGET}.verified")
  # The stamp is touched only after placer succeeded: a failed check runs again next time.
  _placer_target(${P_TARGET} "${stamp}"
                 "placer: verifying LLEXT extensions against ${B_BUILD_DIR}"
                 "${B_INPUTS};${extensions}" "${P_DEPENDS}"
                 COMMAND ${PLACER_COMMAND} verify ${extensions} --build-dir "${B_BUILD_DIR}"
                         ${P_ARGS}
                 COMMAND ${CMAKE_COMMAND} -E touch "${stamp}")
endfunction()
