# Installation layout and the Debian package (CPack DEB):
#   cmake --build --preset default --target package   ->  build/lucida_<version>_amd64.deb
# Dependencies come from the binaries (dpkg-shlibdeps) plus the Qt plugins they load at run time.
include(GNUInstallDirs)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(LUCIDA_APP_ID org.lucida.Lucida)
set(pkg ${PROJECT_SOURCE_DIR}/packaging)
set(gen ${PROJECT_BINARY_DIR}/packaging)

# Desktop integration: entry, AppStream metainfo, MIME types, icons.
install(FILES ${pkg}/linux/${LUCIDA_APP_ID}.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${pkg}/linux/${LUCIDA_APP_ID}.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${pkg}/linux/lucida-mime.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/mime/packages
        RENAME lucida.xml)
install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/lucida.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps RENAME ${LUCIDA_APP_ID}.svg)
foreach(size 16 22 24 32 48 64 128 256 512)
    install(FILES ${pkg}/linux/icons/lucida-${size}.png
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps
            RENAME ${LUCIDA_APP_ID}.png)
endforeach()

# The demo model, for `lucida --model /usr/share/lucida/model/demo-smallcnn.pth`.
install(FILES ${PROJECT_SOURCE_DIR}/resources/demo/model/demo-smallcnn.pth
              ${PROJECT_SOURCE_DIR}/resources/demo/model/demo-smallcnn.json
              ${PROJECT_SOURCE_DIR}/resources/demo/model/demo-smallcnn.report.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lucida/model)

# Man pages and the changelog, compressed as Debian wants them (gzip -9n: reproducible).
find_program(GZIP_PROGRAM gzip REQUIRED)
set(compressed)
foreach(src man/lucida.1 man/lucida-cli.1 linux/changelog)
    get_filename_component(name ${src} NAME)
    add_custom_command(OUTPUT ${gen}/${name}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}
        COMMAND ${GZIP_PROGRAM} -9n -c ${pkg}/${src} > ${gen}/${name}.gz
        DEPENDS ${pkg}/${src} VERBATIM)
    list(APPEND compressed ${gen}/${name}.gz)
endforeach()
add_custom_target(lucida_package_docs ALL DEPENDS ${compressed})
install(FILES ${gen}/lucida.1.gz ${gen}/lucida-cli.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${gen}/changelog.gz ${pkg}/linux/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/lucida)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lucida)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The Lucida developers")
set(CPACK_PACKAGE_CONTACT "Lucida developers <developers@lucida.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Loaded as plugins, so shlibdeps cannot see them: the SVG icon engine for Lucida's own icons.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6svg6")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "see what a neural network looked at in medical images")
# CPack writes the summary as the synopsis line and indents this text beneath it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Lucida opens gigapixel whole-slide images (Aperio, Hamamatsu, 3DHistech,
Leica, Ventana, pyramidal TIFF), DICOM series and photos, pans and zooms
smoothly, and overlays Grad-CAM-family heatmaps computed by a background
LibTorch worker while you pan. lucida-cli explains, analyses whole slides
and trains classifiers without a display.")
include(CPack)
