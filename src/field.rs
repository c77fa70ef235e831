//! Shapes, element kinds and the chunk layout of phase-space and position-space arrays.
//!
//! Arrays are row-major (the last axis is contiguous) with 1 to 6 axes. On the GPU an array that
//! is larger than one storage binding is split into chunks: contiguous runs of the flattened
//! index, each a multiple of a "unit" made of whole trailing axes, so that lines along the
//! trailing axes never cross a chunk boundary. Lines along the leading axes may cross; the FFT
//! handles those by gathering whole lines into a scratch chunk (see `gpu::fft`).

use anyhow::{bail, Result};

/// Kind of the array's elements. Real fields hold one number per element, complex fields two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Elem {
    Real,
    Complex,
}

impl Elem {
    /// Number of f32 (GPU) or f64 (CPU) components per element.
    pub fn components(self) -> usize {
        match self {
            Elem::Real => 1,
            Elem::Complex => 2,
        }
    }
}

/// Most axes an array may have (3D position times 3D momentum).
pub const MAX_DIMS: usize = 6;

/// Checks a shape: 1 to 6 axes, none of length 0, and a total that fits the index types.
pub fn check_shape(shape: &[usize]) -> Result<()> {
    if shape.is_empty() || shape.len() > MAX_DIMS {
        bail!(
            "an array has 1 to {MAX_DIMS} axes, this shape has {}: {shape:?}",
            shape.len()
        );
    }
    if shape.contains(&0) {
        bail!("axis of length 0 in shape {shape:?}");
    }
    let mut total: u128 = 1;
    for &n in shape {
        total *= n as u128;
    }
    if total > (1u128 << 40) {
        bail!("shape {shape:?} has {total} elements, more than 2^40");
    }
    Ok(())
}

/// Number of elements of a shape.
pub fn len_of(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Stride (in elements) of each axis of a row-major array.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// The greatest common divisor of a and b (how runs of lines or columns fit a chunk or a
/// period).
pub fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How one array is split into chunks. Chunk `c` holds the flat elements
/// `[c * chunk_len, min((c + 1) * chunk_len, len))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkLayout {
    pub shape: Vec<usize>,
    pub len: usize,
    pub chunk_len: usize,
    pub n_chunks: usize,
}

impl ChunkLayout {
    /// Splits `shape` into chunks of at most `max_chunk_len` elements. The chunk length is the
    /// largest multiple of the biggest block of whole trailing axes that fits; if even the last
    /// axis alone does not fit, chunks split inside it.
    pub fn new(shape: &[usize], max_chunk_len: usize) -> Result<Self> {
        check_shape(shape)?;
        if max_chunk_len == 0 {
            bail!("chunk limit of 0 elements");
        }
        let len = len_of(shape);
        let mut unit = 1usize;
        for &n in shape.iter().rev() {
            if unit * n > max_chunk_len {
                break;
            }
            unit *= n;
        }
        let chunk_len = if len <= max_chunk_len {
            len
        } else if unit == 1 {
            // The last axis alone is larger than a chunk: split it into the largest power of two
            // that fits, so that elementwise kernels still see aligned pieces.
            1usize << (usize::BITS - 1 - max_chunk_len.leading_zeros())
        } else {
            (max_chunk_len / unit) * unit
        };
        let n_chunks = len.div_ceil(chunk_len);
        Ok(Self {
            shape: shape.to_vec(),
            len,
            chunk_len,
            n_chunks,
        })
    }

    /// Flat element range of chunk `c`.
    pub fn chunk_range(&self, c: usize) -> std::ops::Range<usize> {
        let start = c * self.chunk_len;
        start..(start + self.chunk_len).min(self.len)
    }

    /// True when every line along `axis` lies inside one chunk.
    pub fn axis_within_chunks(&self, axis: usize) -> bool {
        let span = self.shape[axis] * strides_of(&self.shape)[axis];
        self.n_chunks == 1 || self.chunk_len.is_multiple_of(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_chunk_when_it_fits() {
        let l = ChunkLayout::new(&[8, 8, 8], 1 << 20).unwrap();
        assert_eq!((l.n_chunks, l.chunk_len), (1, 512));
        assert!((0..3).all(|a| l.axis_within_chunks(a)));
    }

    #[test]
    fn chunks_are_whole_trailing_blocks() {
        // 8^6 complex with 64 KiB chunks: 8192 elements, i.e. 2 blocks of 8^4.
        let l = ChunkLayout::new(&[8; 6], 8192).unwrap();
        assert_eq!(l.chunk_len, 8192);
        assert_eq!(l.n_chunks, 32);
        assert!(!l.axis_within_chunks(0));
        assert!(!l.axis_within_chunks(1));
        assert!(l.axis_within_chunks(2));
        assert!(l.axis_within_chunks(5));
    }

    #[test]
    fn non_power_of_two_block_and_ragged_last_chunk() {
        let l = ChunkLayout::new(&[7, 5, 3], 40).unwrap();
        assert_eq!(l.chunk_len, 30);
        assert_eq!(l.n_chunks, 4);
        assert_eq!(l.chunk_range(3), 90..105);
    }

    #[test]
    fn long_last_axis_is_split() {
        let l = ChunkLayout::new(&[1 << 12], 1000).unwrap();
        assert_eq!(l.chunk_len, 512);
        assert_eq!(l.n_chunks, 8);
        assert!(!l.axis_within_chunks(0));
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(check_shape(&[]).is_err());
        assert!(check_shape(&[2; 7]).is_err());
        assert!(check_shape(&[4, 0]).is_err());
    }
}
