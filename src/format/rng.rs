//! Randomness as an explicit input.

/// A source of cryptographically secure random bytes.
///
/// Issuance, key generation and presentation take one, so that production
/// code uses [`SystemRng`] and test vectors can use a fixed seed
/// ([`crate::format::hazmat::SeededRng`]). Implement it only over a CSPRNG.
pub trait SecureRng {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's CSPRNG, through `ring::rand::SystemRandom`.
#[derive(Debug)]
pub struct SystemRng(ring::rand::SystemRandom);

impl SystemRng {
    /// A handle to the system CSPRNG.
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRng {
    fn default() -> Self {
        Self::new()
    }
}

impl SecureRng for SystemRng {
    fn fill(&mut self, dest: &mut [u8]) {
        use ring::rand::SecureRandom as _;
        // Continuing without randomness would silently produce predictable
        // keys and salts; the OS generator failing is not recoverable.
        #[allow(clippy::expect_used)]
        self.0.fill(dest).expect("the operating system random number generator failed");
    }
}

impl<R: SecureRng + ?Sized> SecureRng for &mut R {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest);
    }
}

/// Draws `N` random bytes.
pub(crate) fn random_array<const N: usize>(rng: &mut dyn SecureRng) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill(&mut out);
    out
}
