crw------- 1 root root 253, 0 Jan  1 00:00 default_cma_region
crw------- 1 root root 253, 0 Jan  1 00:00 linux,cma
crw------- 1 root root 253, 0 Jan  1 00:00 oddranges
crw------- 1 root root 253, 0 Jan  1 00:00 system
crw------- 1 root root 253, 0 Jan  1 00:00 zonecma@6c000000
