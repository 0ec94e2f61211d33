# orch_warnings: an INTERFACE target carrying the project's warning flags, linked privately by
# every orch library so that third-party targets never inherit them.
add_library(orch_warnings INTERFACE)
target_compile_options(orch_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${ORCH_WARNINGS_AS_ERRORS}>:-Werror>)
