# Writes OUT (a header defining TSFT_BUILD_GIT) with `git describe --always --dirty` of SRC, run at every
# build (target tsft_build_git): the file is rewritten only when the text changes, so an unchanged
# checkout rebuilds nothing. Outside a git checkout (a source tarball) the value is "unknown".
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE git OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR git STREQUAL "")
  set(git "unknown")
endif()
set(text "#pragma once\n#define TSFT_BUILD_GIT \"${git}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
