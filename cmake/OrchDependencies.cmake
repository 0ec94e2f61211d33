# Every third-party dependency comes from a Debian package (scripts/install_deps.sh); nothing is
# downloaded at configure or build time.
find_package(Torch REQUIRED)          # libtorch-dev (CPU) or a CUDA LibTorch via CMAKE_PREFIX_PATH
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(yaml-cpp REQUIRED)
find_package(Boost REQUIRED COMPONENTS program_options)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Threads REQUIRED)

# TorchConfig exposes plain variables; wrap them once so targets link a single name.
add_library(orch_torch INTERFACE)
target_link_libraries(orch_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(orch_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

# niftilib (libnifti2-dev). Debian 12's NIFTIConfig.cmake points at /usr/lib/libznz.so.3.0.0,
# which the package does not ship, so find the header and libraries directly.
find_path(NIFTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti REQUIRED)
find_library(NIFTI2_LIBRARY nifti2 REQUIRED)
find_library(ZNZ_LIBRARY znz REQUIRED)
find_package(ZLIB REQUIRED)
add_library(orch_niftilib INTERFACE)
target_include_directories(orch_niftilib SYSTEM INTERFACE ${NIFTI_INCLUDE_DIR})
target_link_libraries(orch_niftilib INTERFACE ${NIFTI2_LIBRARY} ${ZNZ_LIBRARY} ZLIB::ZLIB m)

# The field's formats: GDCM (DICOM, with its JPEG / JPEG-LS / JPEG 2000 / RLE codecs), matio
# (MATLAB .mat), pugixml (LIDC XML) and HDF5 (the preprocessed-volume cache).
find_package(GDCM REQUIRED)           # libgdcm-dev; GDCMConfig.cmake defines imported targets
add_library(orch_gdcm INTERFACE)
target_include_directories(orch_gdcm SYSTEM INTERFACE ${GDCM_INCLUDE_DIRS})
target_link_libraries(orch_gdcm INTERFACE gdcmMSFF gdcmDSED gdcmCommon)
find_package(pugixml REQUIRED)        # libpugixml-dev
find_package(HDF5 REQUIRED COMPONENTS C)  # libhdf5-dev (serial)
add_library(orch_hdf5 INTERFACE)
target_include_directories(orch_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(orch_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(orch_hdf5 INTERFACE ${HDF5_DEFINITIONS})
find_package(PkgConfig REQUIRED)
pkg_check_modules(MATIO REQUIRED IMPORTED_TARGET matio)  # libmatio-dev
