crw------- 1 root root 253, 0 Jan  1 00:00 linux,cma
crw------- 1 root root 253, 0 Jan  1 00:00 system
