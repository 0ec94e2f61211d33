# orch_sanitizers: an INTERFACE target that adds -fsanitize=... when ORCH_SANITIZE is set
# (for example -DORCH_SANITIZE="address;undefined"). Empty otherwise.
add_library(orch_sanitizers INTERFACE)
if(ORCH_SANITIZE)
  list(JOIN ORCH_SANITIZE "," _orch_sanitize_list)
  target_compile_options(orch_sanitizers INTERFACE
    -fsanitize=${_orch_sanitize_list} -fno-omit-frame-pointer)
  target_link_options(orch_sanitizers INTERFACE -fsanitize=${_orch_sanitize_list})
endif()
