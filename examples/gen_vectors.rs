//! Writes the adversarial test vectors to `tests/vectors/adversarial/`.
//!
//! ```sh
//! cargo run --example gen_vectors
//! ```
//!
//! The output is reproducible byte for byte (fixed keys, seeds and time);
//! `tests/vectors.rs` regenerates it in memory and fails if the checked-in
//! files differ.

#[path = "../tests/vectors/adversarial/generator.rs"]
mod generator;

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/adversarial");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in generator::generate() {
        let path = dir.join(&name);
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
