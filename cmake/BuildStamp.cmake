# Run at build time (cmake -P): writes the build stamp header with the git commit of the sources,
# so that `--version` names the commit a binary was built from. Inputs: SOURCE_DIR, TEMPLATE, OUTPUT,
# LUCIDA_VERSION, LUCIDA_QT_VERSION.
set(LUCIDA_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND commit)
        set(LUCIDA_GIT_COMMIT "${commit}")
        execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" diff-index --quiet HEAD --
                                core ui app CMakeLists.txt
                        RESULT_VARIABLE dirty ERROR_QUIET)
        if(NOT dirty EQUAL 0)
            string(APPEND LUCIDA_GIT_COMMIT "+dirty")
        endif()
    endif()
endif()
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
