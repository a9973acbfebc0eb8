package workload

import "sort"

// byDensity orders regions by share of reads per byte, highest first.
func byDensity(p []float64, size []int64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		da, db := p[idx[a]]/float64(max(size[idx[a]], 1)), p[idx[b]]/float64(max(size[idx[b]], 1))
		return da > db
	})
	return idx
}

// CoverageBytes is the bytes of the regions the best static choice needs to
// serve coverage of the reads (regions by reads per byte until their share
// reaches it), and how many regions that is.
func CoverageBytes(p []float64, size []int64, coverage float64) (bytes int64, regions int) {
	share := 0.0
	for _, i := range byDensity(p, size) {
		if share >= coverage-1e-12 {
			break
		}
		share += p[i]
		bytes += size[i]
		regions++
	}
	return bytes, regions
}

// StaticHitRatio is the share of reads the best static choice of regions
// that fits in capacity serves: regions by reads per byte while they fit (a
// greedy knapsack; exact when the regions are the same size, as here).
func StaticHitRatio(p []float64, size []int64, capacity int64) (ratio float64, regions int) {
	var used int64
	for _, i := range byDensity(p, size) {
		if used+size[i] > capacity {
			continue
		}
		used += size[i]
		ratio += p[i]
		regions++
	}
	return ratio, regions
}
