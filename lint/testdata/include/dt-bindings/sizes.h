/* A stand-in for include/dt-bindings: macros the tree takes through cpp. */
#define POOL_SIZE 0x2000000
