// SPDX-License-Identifier: GPL-2.0
/* Hand-made test table for kernel/testdata/board.dtsi. DO NOT EDIT by generator. */
#include "dtheap.h"

static const struct dtheap_heap_desc dtheap_board_heap_descs[] = {
	{
		.name = "video@70000000",
		.region = "video@70000000",
		.kind = DTHEAP_KIND_CMA,
		.mapping = DTHEAP_MAP_CACHED,
		.base = 0x70000000ULL,
		.size = 0x3000000ULL,
		.fixed = true,
	},
	{
		.name = "dsp",
		.region = "dsp@78000000",
		.kind = DTHEAP_KIND_CARVEOUT,
		.mapping = DTHEAP_MAP_WRITECOMBINE,
		.base = 0x78000000ULL,
		.size = 0x3000000ULL,
		.fixed = true,
	},
	{
		.name = "camera",
		.region = "camera@6c000000",
		.kind = DTHEAP_KIND_CARVEOUT,
		.mapping = DTHEAP_MAP_CACHED,
		.base = 0x6c000000ULL,
		.size = 0x3000000ULL,
		.fixed = true,
	},
	{
		.name = "secure",
		.region = "secure@74000000",
		.kind = DTHEAP_KIND_UNMAPPED,
		.mapping = DTHEAP_MAP_NONE,
		.base = 0x74000000ULL,
		.size = 0x2000000ULL,
		.fixed = true,
	},
	{
		/* Refused on purpose: the devicetree region is 4 MiB. */
		.name = "tiny",
		.region = "tiny@64000000",
		.kind = DTHEAP_KIND_CARVEOUT,
		.mapping = DTHEAP_MAP_WRITECOMBINE,
		.base = 0x64000000ULL,
		.size = 0x800000ULL,
		.fixed = true,
	},
	{
		/* Refused on purpose: not in the devicetree at all. */
		.name = "ghost",
		.region = "ghost@60000000",
		.kind = DTHEAP_KIND_CARVEOUT,
		.mapping = DTHEAP_MAP_CACHED,
		.base = 0x60000000ULL,
		.size = 0x2000000ULL,
		.fixed = true,
	},
};

const struct dtheap_board dtheap_board = {
	.name = "qemu-virt-arm64-test",
	.heaps = dtheap_board_heap_descs,
	.nr_heaps = ARRAY_SIZE(dtheap_board_heap_descs),
};
