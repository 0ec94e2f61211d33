# <torch/torch.h> costs about 15 s per translation unit on the project's 2-core machines. Every
# target that includes it reuses one precompiled header built from this object library.
add_library(orch_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(orch_torch_pch PUBLIC orch_torch PRIVATE orch_warnings orch_sanitizers)
target_precompile_headers(orch_torch_pch PRIVATE <torch/torch.h>)

# orch_use_torch_pch(target): link LibTorch and reuse the shared precompiled header.
function(orch_use_torch_pch target)
  target_link_libraries(${target} PUBLIC orch_torch)
  target_precompile_headers(${target} REUSE_FROM orch_torch_pch)
endfunction()
