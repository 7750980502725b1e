//! The handwritten signature image: a PNG or JPEG, checked from its bytes (magic, chunk or
//! segment structure, dimensions from the PNG IHDR or the JPEG SOF header), size-limited, and
//! carried as a `data:` URL (the form clients send and templates embed).

use std::fmt;

use base64::Engine;
use thiserror::Error;

/// Largest accepted image file.
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;
/// Largest accepted width or height.
pub const MAX_IMAGE_SIDE: u32 = 2000;

/// Why a signature image was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageError {
    #[error("signature image is empty")]
    Empty,
    #[error("signature image is {bytes} bytes, the limit is {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("signature image is {width}x{height} px, the limit is {limit} px per side")]
    TooManyPixels { width: u32, height: u32, limit: u32 },
    #[error("signature image has zero width or height")]
    ZeroSize,
    #[error("signature image is neither PNG nor JPEG (unknown file signature)")]
    UnknownFormat,
    #[error("invalid PNG: {0}")]
    Png(&'static str),
    #[error("invalid JPEG: {0}")]
    Jpeg(&'static str),
    #[error(
        "signature must be a data URL \"data:image/png;base64,…\" or \"data:image/jpeg;base64,…\""
    )]
    DataUrl,
    #[error("the data URL says {declared} but the bytes are {actual}")]
    MimeMismatch {
        declared: &'static str,
        actual: &'static str,
    },
    #[error("signature data URL is not valid base64: {0}")]
    Base64(String),
}

/// Image container formats accepted for signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Png,
    Jpeg,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }
}

/// A checked signature image.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SignatureImage {
    bytes: Vec<u8>,
    format: ImageFormat,
    width: u32,
    height: u32,
}

impl fmt::Debug for SignatureImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl SignatureImage {
    /// Checks raw PNG or JPEG bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SignatureImage, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge {
                bytes: bytes.len(),
                limit: MAX_IMAGE_BYTES,
            });
        }
        let (format, (width, height)) = if bytes.starts_with(PNG_MAGIC) {
            (ImageFormat::Png, png_dimensions(&bytes)?)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            (ImageFormat::Jpeg, jpeg_dimensions(&bytes)?)
        } else {
            return Err(ImageError::UnknownFormat);
        };
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSize);
        }
        if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
            return Err(ImageError::TooManyPixels {
                width,
                height,
                limit: MAX_IMAGE_SIDE,
            });
        }
        Ok(SignatureImage {
            bytes,
            format,
            width,
            height,
        })
    }

    /// Parses `data:image/png;base64,…` (or `image/jpeg`, `image/jpg`) and checks the bytes.
    pub fn from_data_url(url: &str) -> Result<SignatureImage, ImageError> {
        let rest = url
            .trim()
            .strip_prefix("data:")
            .ok_or(ImageError::DataUrl)?;
        let (header, payload) = rest.split_once(',').ok_or(ImageError::DataUrl)?;
        let declared = match header {
            "image/png;base64" => ImageFormat::Png,
            "image/jpeg;base64" | "image/jpg;base64" => ImageFormat::Jpeg,
            _ => return Err(ImageError::DataUrl),
        };
        // 4/3 of the byte limit plus padding: refuse to decode anything larger.
        if payload.len() > MAX_IMAGE_BYTES / 3 * 4 + 8 {
            return Err(ImageError::TooLarge {
                bytes: payload.len() / 4 * 3,
                limit: MAX_IMAGE_BYTES,
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| ImageError::Base64(e.to_string()))?;
        let image = SignatureImage::from_bytes(bytes)?;
        if image.format != declared {
            return Err(ImageError::MimeMismatch {
                declared: declared.mime(),
                actual: image.format.mime(),
            });
        }
        Ok(image)
    }

    /// `data:<mime>;base64,<bytes>`.
    pub fn to_data_url(&self) -> String {
        format!(
            "data:{};base64,{}",
            self.format.mime(),
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn format(&self) -> ImageFormat {
        self.format
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

impl TryFrom<String> for SignatureImage {
    type Error = ImageError;
    fn try_from(url: String) -> Result<Self, Self::Error> {
        SignatureImage::from_data_url(&url)
    }
}

impl From<SignatureImage> for String {
    fn from(image: SignatureImage) -> String {
        image.to_data_url()
    }
}

impl serde::Serialize for SignatureImage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_data_url())
    }
}

impl<'de> serde::Deserialize<'de> for SignatureImage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let url = String::deserialize(d)?;
        SignatureImage::from_data_url(&url).map_err(serde::de::Error::custom)
    }
}

pub(crate) const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// CRC-32 (ISO-HDLC), as PNG chunks use it.
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &byte in *part {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    !crc
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks the PNG chunks (lengths and CRCs), checks IHDR, requires IDAT and a final IEND.
fn png_dimensions(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let mut pos = PNG_MAGIC.len();
    let mut dims = None;
    let mut seen_idat = false;
    loop {
        let header = bytes
            .get(pos..pos + 8)
            .ok_or(ImageError::Png("truncated chunk header (no IEND)"))?;
        let len = be32(&header[..4]) as usize;
        let kind = &header[4..8];
        let data = bytes
            .get(pos + 8..pos + 8 + len)
            .ok_or(ImageError::Png("truncated chunk"))?;
        let crc = bytes
            .get(pos + 8 + len..pos + 12 + len)
            .ok_or(ImageError::Png("truncated chunk CRC"))?;
        if crc32(&[kind, data]) != be32(crc) {
            return Err(ImageError::Png("chunk CRC mismatch"));
        }
        if dims.is_none() && kind != b"IHDR" {
            return Err(ImageError::Png("the first chunk is not IHDR"));
        }
        match kind {
            b"IHDR" => {
                if dims.is_some() || len != 13 {
                    return Err(ImageError::Png("bad IHDR"));
                }
                let (depth, colour) = (data[8], data[9]);
                let allowed: &[u8] = match colour {
                    0 => &[1, 2, 4, 8, 16],
                    3 => &[1, 2, 4, 8],
                    2 | 4 | 6 => &[8, 16],
                    _ => return Err(ImageError::Png("unknown colour type")),
                };
                if !allowed.contains(&depth) {
                    return Err(ImageError::Png("bit depth not allowed for the colour type"));
                }
                if data[10] != 0 || data[11] != 0 || data[12] > 1 {
                    return Err(ImageError::Png("unknown compression, filter or interlace"));
                }
                dims = Some((be32(&data[..4]), be32(&data[4..8])));
            }
            b"IDAT" => seen_idat = true,
            b"IEND" => {
                if !seen_idat {
                    return Err(ImageError::Png("no image data (IDAT)"));
                }
                if pos + 12 + len != bytes.len() {
                    return Err(ImageError::Png("bytes after IEND"));
                }
                return dims.ok_or(ImageError::Png("no IHDR"));
            }
            _ => {}
        }
        pos += 12 + len;
    }
}

/// Walks the JPEG segments up to the scan, reads the frame header (SOFn), requires a scan
/// (SOS) and the end-of-image marker at the end of the file.
fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let mut pos = 2;
    let mut dims = None;
    loop {
        let marker = bytes
            .get(pos..pos + 2)
            .ok_or(ImageError::Jpeg("truncated before the image data"))?;
        if marker[0] != 0xFF {
            return Err(ImageError::Jpeg("expected a marker"));
        }
        let kind = marker[1];
        if kind == 0xFF {
            pos += 1; // fill byte
            continue;
        }
        if matches!(kind, 0xD8 | 0xD9) {
            return Err(ImageError::Jpeg("image ends before any scan"));
        }
        if matches!(kind, 0x01 | 0xD0..=0xD7) {
            pos += 2; // markers without a length
            continue;
        }
        let len_bytes = bytes
            .get(pos + 2..pos + 4)
            .ok_or(ImageError::Jpeg("truncated segment"))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let segment = bytes
            .get(pos + 4..pos + 2 + len)
            .filter(|_| len >= 2)
            .ok_or(ImageError::Jpeg("truncated segment"))?;
        match kind {
            0xC0..=0xCF if !matches!(kind, 0xC4 | 0xC8 | 0xCC) => {
                if segment.len() < 6 {
                    return Err(ImageError::Jpeg("short frame header"));
                }
                let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
                let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
                let components = usize::from(segment[5]);
                if !matches!(components, 1 | 3 | 4) || segment.len() != 6 + 3 * components {
                    return Err(ImageError::Jpeg("bad frame header"));
                }
                dims = Some((width, height));
            }
            0xDA => {
                let dims = dims.ok_or(ImageError::Jpeg("scan before the frame header"))?;
                if !bytes.ends_with(&[0xFF, 0xD9]) || bytes.len() < pos + 2 + len + 2 {
                    return Err(ImageError::Jpeg("no end-of-image marker"));
                }
                return Ok(dims);
            }
            _ => {}
        }
        pos += 2 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
    }
}
