//! Photos sent with complaints: the type read from the bytes themselves (never the name or the
//! declared type), and every metadata block that can carry EXIF, GPS, XMP or comments removed
//! before the photo is stored. The pixels are not touched.

use img_parts::Bytes;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;

use crate::error::{Error, Result};

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
/// Most photos per complaint.
pub const MAX_PHOTOS: usize = 3;

/// A photo ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPhoto {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Checks and cleans one photo.
pub fn clean(raw: &[u8]) -> Result<CleanPhoto> {
    if raw.len() > MAX_PHOTO_BYTES {
        return Err(Error::invalid("photo", format!("a photo is at most {} MiB", MAX_PHOTO_BYTES / (1024 * 1024))));
    }
    match infer::get(raw).map(|t| t.mime_type()) {
        Some("image/jpeg") => Ok(CleanPhoto { content_type: "image/jpeg", bytes: clean_jpeg(raw)? }),
        Some("image/png") => Ok(CleanPhoto { content_type: "image/png", bytes: clean_png(raw)? }),
        Some("image/heif" | "image/heic" | "image/heif-sequence" | "image/heic-sequence") => Err(Error::invalid(
            "photo",
            "HEIC photos are not accepted yet: send JPEG or PNG (phones convert when the browser asks for JPEG)",
        )),
        _ => Err(Error::invalid("photo", "a photo must be a JPEG or PNG image")),
    }
}

fn damaged() -> Error {
    Error::invalid("photo", "the photo is damaged and cannot be read")
}

/// Keeps only what decoding needs: JFIF (APP0), the ICC profile (APP2), Adobe's colour transform
/// (APP14) and the image segments. EXIF and XMP (APP1), IPTC (APP13), other application blocks
/// and comments go.
fn clean_jpeg(raw: &[u8]) -> Result<Vec<u8>> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(raw)).map_err(|_| damaged())?;
    jpeg.segments_mut().retain(|s| {
        let m = s.marker();
        let app = (markers::APP0..=markers::APP15).contains(&m);
        !(m == markers::COM || (app && m != markers::APP0 && m != markers::APP2 && m != markers::APP14))
    });
    Ok(jpeg.encoder().bytes().to_vec())
}

/// Drops the chunks that carry metadata: eXIf, the text chunks (where XMP lives) and tIME.
fn clean_png(raw: &[u8]) -> Result<Vec<u8>> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(raw)).map_err(|_| damaged())?;
    png.chunks_mut().retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
    Ok(png.encoder().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG carrying EXIF with a GPS tag, a comment, and a tiny image.
    fn jpeg_with_gps() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        // APP0 JFIF.
        j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
        // APP1 Exif with the text "GPSLatitude" standing in for a GPS IFD.
        let exif = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude10.7712";
        j.extend_from_slice(&[0xFF, 0xE1]);
        j.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(exif);
        // COM.
        let com = b"taken at home";
        j.extend_from_slice(&[0xFF, 0xFE]);
        j.extend_from_slice(&((com.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(com);
        // DQT, SOF0 (1x1, one component), DHT-less minimal SOS with a few entropy bytes, EOI.
        j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
        j.extend(std::iter::repeat_n(1u8, 64));
        j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00]);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34]);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_metadata_is_removed_and_the_image_kept() {
        let raw = jpeg_with_gps();
        assert!(contains(&raw, b"GPSLatitude"));
        let clean = clean(&raw).unwrap();
        assert_eq!(clean.content_type, "image/jpeg");
        assert!(!contains(&clean.bytes, b"GPSLatitude"), "EXIF is gone");
        assert!(!contains(&clean.bytes, b"taken at home"), "comments are gone");
        assert!(contains(&clean.bytes, b"JFIF"), "JFIF stays");
        assert!(contains(&clean.bytes, &[0xFF, 0xDA, 0x00, 0x08]), "the scan stays");
        assert!(clean.bytes.ends_with(&[0xFF, 0xD9]));
    }

    #[test]
    fn png_text_and_exif_chunks_are_removed() {
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            c.extend_from_slice(&crc.finalize().to_be_bytes());
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        png.extend(chunk(b"tEXt", b"XML:com.adobe.xmp\0GPSLatitude=10.77"));
        png.extend(chunk(b"eXIf", b"MM\0*GPS"));
        png.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]));
        png.extend(chunk(b"IEND", b""));
        let clean = clean(&png).unwrap();
        assert_eq!(clean.content_type, "image/png");
        assert!(!contains(&clean.bytes, b"GPSLatitude") && !contains(&clean.bytes, b"eXIf"));
        assert!(contains(&clean.bytes, b"IDAT") && contains(&clean.bytes, b"IHDR"));
    }

    #[test]
    fn other_content_is_refused_whatever_it_claims() {
        assert!(clean(b"<html>not an image</html>").is_err());
        assert!(clean(b"%PDF-1.7 ...").is_err());
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        let err = clean(&heic).unwrap_err().to_string();
        assert!(err.contains("HEIC"), "{err}");
        assert!(clean(&vec![0xFF; MAX_PHOTO_BYTES + 1]).is_err());
    }
}
