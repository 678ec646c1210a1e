//! QR codes drawn for the screen.

use qrcode::{Color, QrCode};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

/// A QR code as a picture: 6 pixels a module, with the 4-module quiet zone around it.
pub fn qr(text: &str) -> Image {
    let Ok(code) = QrCode::new(text.as_bytes()) else { return Image::default() };
    let (n, scale, quiet) = (code.width(), 6usize, 4usize);
    let side = (n + 2 * quiet) * scale;
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let colors = code.to_colors();
    let pixels = buf.make_mut_slice();
    for (i, px) in pixels.iter_mut().enumerate() {
        let (x, y) = ((i % side) / scale, (i / side) / scale);
        let dark = x >= quiet
            && y >= quiet
            && x < n + quiet
            && y < n + quiet
            && colors[(y - quiet) * n + (x - quiet)] == Color::Dark;
        let v = if dark { 0 } else { 255 };
        *px = Rgb8Pixel { r: v, g: v, b: v };
    }
    Image::from_rgb8(buf)
}
