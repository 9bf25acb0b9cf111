package spike

import "slices"

// median returns the median of buf, reordering it.
func median(buf []float64) float64 {
	n := len(buf)
	insertionSort(buf)
	if n%2 == 1 {
		return buf[n/2]
	}
	return (buf[n/2-1] + buf[n/2]) / 2
}

func insertionSort(a []float64) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i - 1
		for j >= 0 && a[j] > x {
			a[j+1] = a[j]
			j--
		}
		a[j+1] = x
	}
}

// medianInt returns the median of a copy-free small slice of ints by sorting
// a stack copy; len(a) is at most stepSamples.
func medianInt(a []int64) int64 {
	var tmp [stepSamples]int64
	c := tmp[:len(a)]
	copy(c, a)
	slices.Sort(c)
	return c[len(c)/2]
}

// selectDesc reorders a so that a[k] holds the value that would be at index
// k in descending order, with a[:k] all >= a[k] (Hoare's selection).
func selectDesc(a []float64, k int) {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// median of three as pivot, keeps sorted inputs linear.
		if a[mid] > a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] > a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[mid] > a[hi] {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		i, j := lo, hi
		for i <= j {
			for a[i] > pivot {
				i++
			}
			for a[j] < pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}
