# ctest driver: cmake -DSRC=<repo> -DBIN=<folder> -DSECONDS=20 -P fuzz/run_fuzz_smoke.cmake
# Builds fuzz/ with clang, makes a small seed corpus with the ffmpeg program, fuzzes SECONDS.
if(NOT SECONDS)
  set(SECONDS 20)
endif()
find_program(FFMPEG_PROGRAM ffmpeg)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/fuzz -B ${BIN} -G Ninja
                        -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring fuzz/ failed (${rc})")
endif()
execute_process(COMMAND ninja -C ${BIN} -j2 fuzz_media RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building fuzz_media failed (${rc})")
endif()
set(corpus ${BIN}/corpus)
file(MAKE_DIRECTORY ${corpus})
if(FFMPEG_PROGRAM)
  set(common -y -hide_banner -loglevel error -nostdin)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i testsrc2=s=32x24:r=8 -frames:v 3
                          -c:v libx264 -preset ultrafast ${corpus}/seed.mp4)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i testsrc2=s=16x16 -frames:v 1
                          ${corpus}/seed.png)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i testsrc2=s=16x16 -frames:v 1
                          ${corpus}/seed.jpg)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i sine=d=0.1:sample_rate=8000
                          ${corpus}/seed.wav)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i sine=d=0.2:sample_rate=8000
                          -c:a libmp3lame ${corpus}/seed.mp3)
  execute_process(COMMAND ${FFMPEG_PROGRAM} ${common} -f lavfi -i testsrc2=s=16x16:r=4 -frames:v 2
                          -c:v ffv1 ${corpus}/seed.mkv)
endif()
execute_process(COMMAND ${BIN}/fuzz_media -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
                        -max_len=65536 -print_final_stats=1 ${corpus}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_media found a failure (exit ${rc}); the crashing input is in the working folder")
endif()
