# Run by `cmake --install`: CMAKE_INSTALL_PREFIX is the prefix of this install.
set(dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/python3/site-packages/vsafe")
file(WRITE "${dir}/_install.py"
  "\"\"\"Written by make install: where this install put libvsafe.so.\"\"\"\nLIBDIR = r\"${CMAKE_INSTALL_PREFIX}/lib\"\n")
message(STATUS "Installing: ${dir}/_install.py")
