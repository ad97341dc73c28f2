# Debian package: `cpack -G DEB` in the build folder. Installs s2v (and s2v-studio when the GUI is
# built) with the desktop entry, icon and AppStream metainfo.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/s2v-studio.desktop DESTINATION share/applications)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/io.github.s2vstudio.S2VStudio.metainfo.xml DESTINATION share/metainfo)
install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/s2v-studio.svg
        DESTINATION share/icons/hicolor/scalable/apps)

set(CPACK_PACKAGE_NAME "s2v-studio")
set(CPACK_PACKAGE_VENDOR "S2V Studio")
set(CPACK_PACKAGE_CONTACT "S2V Studio developers <dev@s2v-studio.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "video")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libtorch1.13, libopenblas0-pthread, libavformat59, libavcodec59, libswscale6, libswresample4, libsqlite3-0")
if(S2V_BUILD_GUI)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "${CPACK_DEBIAN_PACKAGE_DEPENDS}, libqt6widgets6, libqt6multimedia6, libqt6charts6")
endif()
include(CPack)
