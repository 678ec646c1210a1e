//! Receipts and queue tickets on the kiosk's thermal printer (ESC/POS, 80 mm paper, 576 dots a
//! line). Printers' own character sets have no Vietnamese, so a slip is drawn as a picture: the
//! text set in a system font that has Vietnamese (DejaVu Sans, Noto Sans or Liberation Sans, found
//! with fontdb and drawn with ab_glyph), then sent as raster bands. The printer is reached over the
//! network (`tcp://HOST:PORT`, port 9100 unless given) or as a device file (`/dev/usb/lp0`) through
//! the escpos crate, which also asks a network printer about its paper.
//!
//! The raster command (`GS v 0`) is built here: escpos would build it only from an encoded image,
//! through the `image` crate with every codec it has, which is far more than a slip needs.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use anyhow::{Context, bail};
use escpos::driver::{Driver, FileDriver, NetworkDriver};
use escpos::printer::Printer as Escpos;
use escpos::utils::{JustifyMode, Protocol, RealTimeStatusRequest, RealTimeStatusResponse};
use q10_core_api::PrinterState;

/// Dots across 80 mm paper at 203 dpi.
pub const WIDTH: u32 = 576;
/// White space either side, in dots.
const MARGIN: u32 = 16;
/// Rows of dots sent in one raster command; printers' buffers take this many at least.
const BAND: u32 = 128;
/// How long to wait for a printer to answer or take data.
const WAIT: Duration = Duration::from_secs(2);

/// Where the printer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printer {
    Network { host: String, port: u16 },
    Device(PathBuf),
}

impl FromStr for Printer {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Printer> {
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().with_context(|| format!("'{p}' is not a port"))?),
                None => (rest, 9100),
            };
            if host.is_empty() {
                bail!("the printer's address has no host: {s}");
            }
            return Ok(Printer::Network { host: host.trim_matches(['[', ']']).to_string(), port });
        }
        if s.starts_with('/') {
            return Ok(Printer::Device(PathBuf::from(s)));
        }
        bail!("a printer is tcp://HOST[:PORT] or the path of its device, such as /dev/usb/lp0; not '{s}'")
    }
}

/// One line of a slip, as it is set.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Bold and larger, centred.
    Title(String),
    /// Very large, centred: a ticket's number.
    Huge(String),
    /// Body text, wrapped, left-aligned.
    Text(String),
    /// A rule across the paper.
    Rule,
    /// Some white space.
    Gap,
}

/// A slip drawn as a picture: `WIDTH` dots across, one byte a dot (0 black, 255 white).
pub struct Picture {
    pub height: u32,
    pub dots: Vec<u8>,
}

impl Picture {
    fn new(height: u32) -> Picture {
        Picture { height, dots: vec![255; (WIDTH * height) as usize] }
    }

    fn ink(&mut self, x: i32, y: i32, coverage: f32) {
        if x < 0 || y < 0 || x as u32 >= WIDTH || y as u32 >= self.height {
            return;
        }
        let i = (y as u32 * WIDTH + x as u32) as usize;
        let v = 255.0 * (1.0 - coverage.clamp(0.0, 1.0));
        self.dots[i] = self.dots[i].min(v as u8);
    }

    /// Whether the dot at (x, y) prints.
    pub fn black(&self, x: u32, y: u32) -> bool {
        self.dots[(y * WIDTH + x) as usize] < 128
    }
}

struct Fonts {
    regular: FontVec,
    bold: FontVec,
}

/// A font is good for a slip when it has Vietnamese letters.
fn vietnamese(font: &FontVec) -> bool {
    "ĐđệữỹƯơ".chars().all(|c| font.glyph_id(c).0 != 0)
}

fn fonts() -> anyhow::Result<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            let load = |family: &str, weight: fontdb::Weight| {
                let query = fontdb::Query { families: &[fontdb::Family::Name(family)], weight, ..Default::default() };
                let id = db.query(&query)?;
                let font =
                    db.with_face_data(id, |data, index| FontVec::try_from_vec_and_index(data.to_vec(), index).ok())??;
                vietnamese(&font).then_some(font)
            };
            ["Noto Sans", "DejaVu Sans", "Liberation Sans"].into_iter().find_map(|family| {
                let regular = load(family, fontdb::Weight::NORMAL)?;
                let bold = load(family, fontdb::Weight::BOLD).or_else(|| load(family, fontdb::Weight::NORMAL))?;
                Some(Fonts { regular, bold })
            })
        })
        .as_ref()
        .context("no font with Vietnamese letters (install fonts-dejavu-core or fonts-noto-core)")
}

/// How wide `text` is at `px`, in dots.
fn measure(font: &FontVec, px: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut width = 0.0;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            width += scaled.kern(prev, id);
        }
        width += scaled.h_advance(id);
        last = Some(id);
    }
    width
}

/// `text` broken into lines no wider than `room` dots, at word boundaries (a word wider than the
/// paper is cut where it must be).
fn wrap(font: &FontVec, px: f32, text: &str, room: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let tried = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if measure(font, px, &tried) <= room {
            line = tried;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if measure(font, px, &line) > room && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Sets `text` with its baseline at `baseline`, from `x`.
fn set(picture: &mut Picture, font: &FontVec, px: f32, x: f32, baseline: f32, text: &str) {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut caret = x;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            caret += scaled.kern(prev, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(px), point(caret, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let at = outline.px_bounds().min;
            outline.draw(|gx, gy, coverage| picture.ink(at.x as i32 + gx as i32, at.y as i32 + gy as i32, coverage));
        }
        caret += scaled.h_advance(id);
        last = Some(id);
    }
}

/// Draws a slip.
pub fn draw(lines: &[Line]) -> anyhow::Result<Picture> {
    let fonts = fonts()?;
    let room = (WIDTH - 2 * MARGIN) as f32;
    // What goes where: (font, size, centred, text) per line of type, or a rule, or space.
    enum Piece<'a> {
        Type(&'a FontVec, f32, bool, String),
        Rule,
        Gap,
    }
    let mut pieces = Vec::new();
    for line in lines {
        match line {
            Line::Title(t) => {
                for l in wrap(&fonts.bold, 34.0, t, room) {
                    pieces.push(Piece::Type(&fonts.bold, 34.0, true, l));
                }
            }
            Line::Huge(t) => pieces.push(Piece::Type(&fonts.bold, 140.0, true, t.clone())),
            Line::Text(t) => {
                for l in wrap(&fonts.regular, 26.0, t, room) {
                    pieces.push(Piece::Type(&fonts.regular, 26.0, false, l));
                }
            }
            Line::Rule => pieces.push(Piece::Rule),
            Line::Gap => pieces.push(Piece::Gap),
        }
    }
    let height_of = |p: &Piece| match p {
        Piece::Type(_, px, _, _) => (px * 1.3).ceil() as u32,
        Piece::Rule => 18,
        Piece::Gap => 24,
    };
    let height = pieces.iter().map(height_of).sum::<u32>() + 2 * MARGIN;
    let mut picture = Picture::new(height);
    let mut top = MARGIN as f32;
    for piece in &pieces {
        match piece {
            Piece::Type(font, px, centred, text) => {
                let ascent = font.as_scaled(PxScale::from(*px)).ascent();
                let x = if *centred {
                    MARGIN as f32 + (room - measure(font, *px, text)).max(0.0) / 2.0
                } else {
                    MARGIN as f32
                };
                set(&mut picture, font, *px, x, top + ascent + px * 0.15, text);
            }
            Piece::Rule => {
                let y = top as i32 + 8;
                for x in MARGIN..WIDTH - MARGIN {
                    picture.ink(x as i32, y, 1.0);
                    picture.ink(x as i32, y + 1, 1.0);
                }
            }
            Piece::Gap => {}
        }
        top += height_of(piece) as f32;
    }
    Ok(picture)
}

/// The picture as ESC/POS raster commands (`GS v 0`), one per band of rows: each row is
/// `WIDTH / 8` bytes, the leftmost dot in the highest bit.
pub fn raster(picture: &Picture) -> Vec<Vec<u8>> {
    let row_bytes = WIDTH / 8;
    (0..picture.height)
        .step_by(BAND as usize)
        .map(|top| {
            let rows = BAND.min(picture.height - top);
            let mut cmd = vec![
                0x1d,
                b'v',
                b'0',
                0,
                (row_bytes & 0xff) as u8,
                (row_bytes >> 8) as u8,
                (rows & 0xff) as u8,
                (rows >> 8) as u8,
            ];
            for y in top..top + rows {
                for byte in 0..row_bytes {
                    let mut bits = 0u8;
                    for bit in 0..8 {
                        bits = (bits << 1) | u8::from(picture.black(byte * 8 + bit, y));
                    }
                    cmd.push(bits);
                }
            }
            cmd
        })
        .collect()
}

/// Saves the picture as a PNG file (black and white, as it prints).
pub fn save_png(picture: &Picture, path: &std::path::Path) -> anyhow::Result<()> {
    let file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    let mut encoder = png::Encoder::new(file, WIDTH, picture.height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let dots: Vec<u8> = picture.dots.iter().map(|d| if *d < 128 { 0 } else { 255 }).collect();
    encoder.write_header()?.write_image_data(&dots)?;
    Ok(())
}

fn connect(host: &str, port: u16) -> anyhow::Result<NetworkDriver> {
    let addr = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("the printer's host {host} is unknown"))?
        .next()
        .with_context(|| format!("the printer's host {host} has no address"))?;
    Ok(NetworkDriver::open(&addr.ip().to_string(), addr.port(), Some(WAIT))?)
}

fn send<D: Driver>(driver: D, bands: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut printer = Escpos::new(driver, Protocol::default(), None);
    printer.init()?.justify(JustifyMode::LEFT)?;
    for band in bands {
        printer.custom(band)?;
    }
    printer.feeds(4)?.print_cut()?;
    Ok(())
}

/// Prints a slip, drawn as a picture.
pub fn print(printer: &Printer, lines: &[Line]) -> anyhow::Result<()> {
    let bands = raster(&draw(lines)?);
    match printer {
        Printer::Network { host, port } => send(connect(host, *port)?, &bands),
        Printer::Device(path) => send(
            FileDriver::open(path).with_context(|| format!("cannot open the printer at {}", path.display()))?,
            &bands,
        ),
    }
}

/// How the printer is: a network printer is asked about its paper (`DLE EOT 4`); one that takes
/// the connection but does not answer is taken as ready. A device file is ready when it opens.
pub fn state(printer: &Printer) -> PrinterState {
    match printer {
        Printer::Network { host, port } => {
            let Ok(driver) = connect(host, *port) else { return PrinterState::Offline };
            let mut asking = Escpos::new(driver.clone(), Protocol::default(), None);
            if asking.real_time_status(RealTimeStatusRequest::RollPaperSensor).and_then(|p| p.send_status()).is_err() {
                return PrinterState::Offline;
            }
            let mut answer = [0u8; 1];
            match driver.read(&mut answer) {
                Ok(1) => match RealTimeStatusResponse::parse(RealTimeStatusRequest::RollPaperSensor, answer[0]) {
                    Ok(status)
                        if status.get(&RealTimeStatusResponse::RollPaperEndSensorPaperPresent) == Some(&false) =>
                    {
                        PrinterState::NoPaper
                    }
                    _ => PrinterState::Ready,
                },
                _ => PrinterState::Ready,
            }
        }
        Printer::Device(path) => match std::fs::OpenOptions::new().append(true).open(path) {
            Ok(_) => PrinterState::Ready,
            Err(_) => PrinterState::Offline,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printers_are_named_by_address_or_device() {
        assert_eq!(
            "tcp://10.0.0.5".parse::<Printer>().unwrap(),
            Printer::Network { host: "10.0.0.5".into(), port: 9100 }
        );
        assert_eq!(
            "tcp://printer.local:9101".parse::<Printer>().unwrap(),
            Printer::Network { host: "printer.local".into(), port: 9101 }
        );
        assert_eq!("/dev/usb/lp0".parse::<Printer>().unwrap(), Printer::Device("/dev/usb/lp0".into()));
        assert!("tcp://:9100".parse::<Printer>().is_err());
        assert!("tcp://host:port".parse::<Printer>().is_err());
        assert!("lp0".parse::<Printer>().is_err());
    }

    #[test]
    fn a_vietnamese_slip_is_drawn_and_rastered_row_by_row() {
        let slip = [
            Line::Title("UBND Phường 1 — Số thứ tự".into()),
            Line::Huge("27".into()),
            Line::Rule,
            Line::Text("Đăng ký khai sinh, kết hôn, khai tử. Trước bạn 3 người, khoảng 12 phút.".into()),
        ];
        let picture = draw(&slip).unwrap();
        let ink = picture.dots.iter().filter(|d| **d < 128).count();
        assert!(picture.height > 300, "{} rows", picture.height);
        assert!(ink > 2_000 && ink < picture.dots.len() / 3, "{ink} black dots");
        // The text wraps within the margins.
        for y in 0..picture.height {
            assert!(!picture.black(0, y) && !picture.black(WIDTH - 1, y), "ink in the margin at row {y}");
        }
        let bands = raster(&picture);
        assert_eq!(bands.len() as u32, picture.height.div_ceil(BAND));
        let rows: u32 = bands.iter().map(|b| u32::from(b[6]) + 256 * u32::from(b[7])).sum();
        assert_eq!(rows, picture.height);
        for band in &bands {
            assert_eq!(&band[..6], &[0x1d, b'v', b'0', 0, 72, 0]);
            let rows = usize::from(band[6]) + 256 * usize::from(band[7]);
            assert_eq!(band.len(), 8 + 72 * rows);
        }
        // The first band's bits are the picture's dots.
        let first = &bands[0][8..];
        for (y, x) in [(40u32, 100u32), (60, 300), (90, 288)] {
            let bit = first[(y * 72 + x / 8) as usize] >> (7 - x % 8) & 1;
            assert_eq!(bit == 1, picture.black(x, y));
        }
    }

    /// A network printer on loopback for one connection: answers a paper-sensor question with
    /// `status` (when given) and hands back every byte it was sent.
    fn printer_answering(status: Option<u8>) -> (Printer, std::thread::JoinHandle<Vec<u8>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let taken = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if let Some(byte) = status
                    && got.windows(3).any(|w| w == [0x10, 0x04, 0x04])
                {
                    conn.write_all(&[byte]).unwrap();
                    break;
                }
            }
            got
        });
        (Printer::Network { host: "127.0.0.1".into(), port }, taken)
    }

    #[test]
    fn a_network_printer_says_whether_it_has_paper() {
        // The paper-roll sensor's answer: 0xx1xx10, with bits 5 and 6 set when the paper has run out.
        let (printer, asked) = printer_answering(Some(0b0001_0010));
        assert_eq!(state(&printer), PrinterState::Ready);
        assert_eq!(&asked.join().unwrap()[..3], &[0x10, 0x04, 0x04]);
        let (printer, _) = printer_answering(Some(0b0111_0010));
        assert_eq!(state(&printer), PrinterState::NoPaper);
        // Nothing listening: offline.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert_eq!(state(&Printer::Network { host: "127.0.0.1".into(), port }), PrinterState::Offline);
        assert_eq!(state(&Printer::Device("/nonexistent/lp0".into())), PrinterState::Offline);
    }

    #[test]
    fn a_slip_reaches_the_printer_as_its_picture_then_a_cut() {
        let slip = [Line::Title("Biên nhận thanh toán · Payment receipt".into()), Line::Text("Lệ phí: 8.000 đ".into())];
        let (printer, taken) = printer_answering(None);
        print(&printer, &slip).unwrap();
        let got = taken.join().unwrap();
        assert_eq!(&got[..2], &[0x1b, b'@'], "initialised first");
        let bands: Vec<u8> = raster(&draw(&slip).unwrap()).concat();
        let at = got.windows(bands.len()).position(|w| w == bands.as_slice()).expect("the picture, band after band");
        assert!(at >= 2);
        assert_eq!(&got[got.len() - 4..], &[0x1d, b'V', b'A', 0], "cut at the end");
    }

    #[test]
    fn long_words_and_long_lines_wrap_inside_the_paper() {
        let fonts = fonts().unwrap();
        let room = (WIDTH - 2 * MARGIN) as f32;
        let lines = wrap(&fonts.regular, 26.0, &"Nguyễn ".repeat(40), room);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| measure(&fonts.regular, 26.0, l) <= room));
        let cut = wrap(&fonts.regular, 26.0, &"x".repeat(200), room);
        assert!(cut.len() > 1 && cut.iter().all(|l| measure(&fonts.regular, 26.0, l) <= room));
    }
}
