//! Finding people and vehicles in a picture with an ONNX detector through ONNX Runtime. Two output
//! layouts are understood, told apart by the model's outputs: YOLOv8/YOLO11-style (one output
//! `[1, 4 + classes, N]`, boxes as centre and size, letterboxed RGB input scaled to 0..1) and
//! NanoDet-style (per stride, class scores `[1, n, classes]` and box distributions
//! `[1, n, 4 × bins]`, BGR input normalised per channel, stretched to the input size).

use std::path::Path;

use image::{RgbImage, imageops};
use ndarray::Array4;
use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;

use super::CountingError;

/// What is counted, and the COCO class each comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Person,
    Bicycle,
    Car,
    Motorcycle,
    Bus,
    Truck,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Person, Kind::Bicycle, Kind::Car, Kind::Motorcycle, Kind::Bus, Kind::Truck];

    fn from_coco(class: usize) -> Option<Kind> {
        Some(match class {
            0 => Kind::Person,
            1 => Kind::Bicycle,
            2 => Kind::Car,
            3 => Kind::Motorcycle,
            5 => Kind::Bus,
            7 => Kind::Truck,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Bicycle => "bicycle",
            Kind::Car => "car",
            Kind::Motorcycle => "motorcycle",
            Kind::Bus => "bus",
            Kind::Truck => "truck",
        }
    }

    pub fn index(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).expect("listed")
    }
}

/// One object found, its box in the picture's pixels (left, top, right, bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub kind: Kind,
    pub score: f32,
    pub bbox: [f32; 4],
}

impl Detection {
    pub fn centre(&self) -> (f32, f32) {
        ((self.bbox[0] + self.bbox[2]) / 2.0, (self.bbox[1] + self.bbox[3]) / 2.0)
    }
}

#[derive(Debug)]
enum Layout {
    Yolo {
        transposed: bool,
    },
    /// Output pairs (scores, boxes) by stride, and the bins per box side.
    NanoDet {
        heads: Vec<(usize, usize, usize)>,
        bins: usize,
    },
}

pub struct Detector {
    session: Session,
    layout: Layout,
    width: usize,
    height: usize,
    min_score: f32,
}

/// Boxes of one kind overlapping more than this are one object.
const NMS_IOU: f32 = 0.5;
const NANODET_MEAN: [f32; 3] = [103.53, 116.28, 123.675];
const NANODET_STD: [f32; 3] = [57.375, 57.12, 58.395];

fn bad(model: &Path, why: impl std::fmt::Display) -> CountingError {
    CountingError::Model(format!("{}: {why}", model.display()))
}

impl Detector {
    pub fn load(env: &Environment, model: &Path, threads: usize, min_score: f32) -> Result<Detector, CountingError> {
        let builder = Session::builder(env).map_err(|e| bad(model, e))?;
        let mut builder = builder.with_intra_threads(threads.max(1)).map_err(|e| bad(model, e))?;
        let session = builder.commit_from_file(model).map_err(|e| bad(model, e))?;
        let input = session.inputs().first().ok_or_else(|| bad(model, "the model has no input"))?;
        let shape = input.dtype().tensor_shape().ok_or_else(|| bad(model, "the input is not a tensor"))?.to_vec();
        let [1, 3, h, w] = shape[..] else {
            return Err(bad(model, format!("the input is {shape:?}, not [1, 3, height, width]")));
        };
        if h <= 0 || w <= 0 {
            return Err(bad(model, "the input size must be fixed"));
        }
        let outputs: Vec<Vec<i64>> = session
            .outputs()
            .iter()
            .map(|o| o.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default())
            .collect();
        let layout = match &outputs[..] {
            [one] if one.len() == 3 && one[1] >= 5 && one[1] < one[2] => Layout::Yolo { transposed: false },
            [one] if one.len() == 3 && one[2] >= 5 && one[2] < one[1] => Layout::Yolo { transposed: true },
            many if many.len() >= 2 && many.len() % 2 == 0 => {
                let (scores, boxes) = many.split_at(many.len() / 2);
                let bins = boxes[0].get(2).copied().unwrap_or(0) as usize / 4;
                let total_cells = (h * w) as usize;
                let mut heads = Vec::new();
                for (i, (s, b)) in scores.iter().zip(boxes).enumerate() {
                    let cells = s.get(1).copied().unwrap_or(0) as usize;
                    if cells == 0 || b.get(1) != s.get(1) || cells > total_cells {
                        return Err(bad(model, format!("outputs {outputs:?} are neither YOLO- nor NanoDet-style")));
                    }
                    let stride = ((total_cells / cells) as f64).sqrt().round() as usize;
                    heads.push((stride, i, i + scores.len()));
                }
                Layout::NanoDet { heads, bins }
            }
            _ => return Err(bad(model, format!("outputs {outputs:?} are neither YOLO- nor NanoDet-style"))),
        };
        Ok(Detector { session, layout, width: w as usize, height: h as usize, min_score })
    }

    /// The objects counted in `picture`, one box per object.
    pub fn detect(&mut self, picture: &RgbImage) -> Result<Vec<Detection>, CountingError> {
        let (pw, ph) = (picture.width() as f32, picture.height() as f32);
        let (w, h) = (self.width, self.height);
        let mut input = Array4::<f32>::zeros((1, 3, h, w));
        // How input coordinates map back to the picture: (scale x, scale y, pad x, pad y).
        let map = match self.layout {
            Layout::NanoDet { .. } => {
                let scaled = imageops::resize(picture, w as u32, h as u32, imageops::FilterType::Triangle);
                for (x, y, p) in scaled.enumerate_pixels() {
                    for c in 0..3 {
                        // BGR order.
                        input[[0, c, y as usize, x as usize]] = (p[2 - c] as f32 - NANODET_MEAN[c]) / NANODET_STD[c];
                    }
                }
                (pw / w as f32, ph / h as f32, 0.0, 0.0)
            }
            Layout::Yolo { .. } => {
                let r = (w as f32 / pw).min(h as f32 / ph);
                let (sw, sh) = ((pw * r).round().max(1.0) as u32, (ph * r).round().max(1.0) as u32);
                let scaled = imageops::resize(picture, sw, sh, imageops::FilterType::Triangle);
                let (px, py) = ((w as u32 - sw) / 2, (h as u32 - sh) / 2);
                input.fill(114.0 / 255.0);
                for (x, y, p) in scaled.enumerate_pixels() {
                    for c in 0..3 {
                        input[[0, c, (y + py) as usize, (x + px) as usize]] = p[c] as f32 / 255.0;
                    }
                }
                (1.0 / r, 1.0 / r, px as f32, py as f32)
            }
        };
        let tensor = TensorRef::from_array_view(&input).map_err(|e| CountingError::Inference(e.to_string()))?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(|e| CountingError::Inference(e.to_string()))?;
        let mut found = Vec::new();
        let min = self.min_score;
        let extract = |i: usize| {
            outputs[i]
                .try_extract_tensor::<f32>()
                .map(|(s, d)| (s.to_vec(), d))
                .map_err(|e| CountingError::Inference(e.to_string()))
        };
        match &self.layout {
            Layout::Yolo { transposed } => {
                let (shape, data) = extract(0)?;
                let (attrs, n) = if *transposed {
                    (shape[2] as usize, shape[1] as usize)
                } else {
                    (shape[1] as usize, shape[2] as usize)
                };
                let at = |a: usize, i: usize| if *transposed { data[i * attrs + a] } else { data[a * n + i] };
                for i in 0..n {
                    let (class, score) =
                        (4..attrs).map(|a| (a - 4, at(a, i))).fold((0, f32::MIN), |b, c| if c.1 > b.1 { c } else { b });
                    let Some(kind) = Kind::from_coco(class).filter(|_| score >= min) else { continue };
                    let (cx, cy, bw, bh) = (at(0, i), at(1, i), at(2, i), at(3, i));
                    found.push(Detection {
                        kind,
                        score,
                        bbox: [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0],
                    });
                }
            }
            Layout::NanoDet { heads, bins } => {
                for &(stride, si, bi) in heads {
                    let (sshape, scores) = extract(si)?;
                    let (_, boxes) = extract(bi)?;
                    let classes = sshape[2] as usize;
                    let cols = w / stride;
                    for cell in 0..sshape[1] as usize {
                        let row = &scores[cell * classes..(cell + 1) * classes];
                        let (class, score) =
                            row.iter().enumerate().fold((0, f32::MIN), |b, (c, s)| if *s > b.1 { (c, *s) } else { b });
                        let Some(kind) = Kind::from_coco(class).filter(|_| score >= min) else { continue };
                        let (cx, cy) = (
                            ((cell % cols) as f32 + 0.5) * stride as f32,
                            ((cell / cols) as f32 + 0.5) * stride as f32,
                        );
                        let dist = &boxes[cell * 4 * bins..(cell + 1) * 4 * bins];
                        let side = |s: usize| expected_bin(&dist[s * bins..(s + 1) * bins]) * stride as f32;
                        found.push(Detection {
                            kind,
                            score,
                            bbox: [cx - side(0), cy - side(1), cx + side(2), cy + side(3)],
                        });
                    }
                }
            }
        }
        let (sx, sy, px, py) = map;
        for d in &mut found {
            d.bbox = [
                ((d.bbox[0] - px) * sx).clamp(0.0, pw),
                ((d.bbox[1] - py) * sy).clamp(0.0, ph),
                ((d.bbox[2] - px) * sx).clamp(0.0, pw),
                ((d.bbox[3] - py) * sy).clamp(0.0, ph),
            ];
        }
        Ok(suppress(found))
    }
}

/// The expected bin of a distribution given as logits.
fn expected_bin(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let weights: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = weights.iter().sum();
    weights.iter().enumerate().map(|(i, w)| i as f32 * w).sum::<f32>() / sum
}

pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Non-maximum suppression per kind: the best-scored box of each overlapping group stays.
fn suppress(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if !kept.iter().any(|k| k.kind == d.kind && iou(&k.bbox, &d.bbox) > NMS_IOU) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_boxes_of_one_kind_are_one_object() {
        let d = |kind, score, x: f32| Detection { kind, score, bbox: [x, 0.0, x + 10.0, 10.0] };
        let kept = suppress(vec![
            d(Kind::Person, 0.6, 1.0),
            d(Kind::Person, 0.9, 0.0),
            d(Kind::Car, 0.5, 0.0),
            d(Kind::Person, 0.7, 50.0),
        ]);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].score, 0.9, "the best of the overlapping pair stays");
        assert!(kept.iter().any(|k| k.kind == Kind::Car), "another kind in the same place is another object");
    }

    #[test]
    fn a_distribution_peaked_on_a_bin_gives_that_distance() {
        let mut logits = [-20.0f32; 11];
        logits[3] = 20.0;
        assert!((expected_bin(&logits) - 3.0).abs() < 1e-3);
        assert!((expected_bin(&[0.0; 11]) - 5.0).abs() < 1e-3, "even: the middle");
    }
}
