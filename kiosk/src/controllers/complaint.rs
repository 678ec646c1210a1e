//! Reporting a problem in the street: the kinds of problem asked of the core when the page opens,
//! the place picked on the map (the kiosk's own unless touched elsewhere), and the complaint filed
//! without the person's name (`POST /api/v1/complaints`), sent as the kiosk when it is signed in so
//! that handlers see it came from a kiosk, and routed by the core to the ward the point lies in.
//! Where the kiosk has a camera, a photo of the problem can go with it (a PNG, sent as the
//! form's `photo` part). The tracking code is shown once; it and the photo are wiped with the
//! session.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::multipart::{Form, Part};
use slint::{ComponentHandle, Image, Model, ModelRc, Rgb8Pixel, SharedPixelBuffer, VecModel};

use super::Kiosk;
use super::net::{Session, client, on_thread, send_as_kiosk};
use crate::camera::{self, Camera};
use crate::map::Meta;
use crate::{CategoryPair, CategoryRow, ComplaintAdapter, MainWindow};
use q10_core_api::{ComplaintCategory, ComplaintReceipt, NewComplaint, Problem};

pub struct Complaints {
    core: Option<String>,
    /// Filed as the kiosk when it is signed in.
    session: Option<Arc<Session>>,
    /// The map's extent, for its 1000 × 1000 box.
    meta: Meta,
    here: Cell<[f64; 2]>,
    /// Where the problem is (longitude, latitude).
    point: Cell<[f64; 2]>,
    camera: Camera,
    /// The photo taken (PNG), until it is sent or the session is wiped.
    photo: Arc<Mutex<Option<Vec<u8>>>>,
    /// Counts wipes: a photo that arrives after one is not kept.
    wiped: Arc<AtomicU64>,
}

enum Filed {
    Done(Box<ComplaintReceipt>),
    Refused(String),
    Unreachable,
}

impl Complaints {
    fn mark(&self, window: &MainWindow, p: [f64; 2]) {
        self.point.set(p);
        let (x, y) = self.meta.to_box(p);
        let a = window.global::<ComplaintAdapter>();
        a.set_point_x(x);
        a.set_point_y(y);
    }

    /// The form emptied and the code forgotten, the place back at the kiosk.
    pub fn clear(&self, window: &MainWindow) {
        let a = window.global::<ComplaintAdapter>();
        a.set_category(-1);
        a.set_description("".into());
        a.set_outcome(0);
        a.set_reason("".into());
        a.set_tracking_code("".into());
        a.set_number(0);
        self.mark(window, self.here.get());
        self.drop_photo(window);
    }

    fn drop_photo(&self, window: &MainWindow) {
        self.wiped.fetch_add(1, Ordering::SeqCst);
        *self.photo.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let a = window.global::<ComplaintAdapter>();
        a.set_photo_state(0);
        a.set_photo(Image::default());
    }

    /// Takes a photo on a thread of its own and shows it when it comes.
    fn take_photo(&self, window: &MainWindow) {
        let a = window.global::<ComplaintAdapter>();
        if a.get_photo_state() == 1 {
            return;
        }
        a.set_photo_state(1);
        let (camera, keep, wiped, w) = (self.camera.clone(), self.photo.clone(), self.wiped.clone(), window.as_weak());
        let epoch = wiped.load(Ordering::SeqCst);
        std::thread::spawn(move || {
            let taken = camera::still(&camera).and_then(|f| Ok((f.png()?, f.rgb(), f.width, f.height)));
            let _ = slint::invoke_from_event_loop(move || {
                let Some(win) = w.upgrade() else { return };
                if wiped.load(Ordering::SeqCst) != epoch {
                    return;
                }
                let a = win.global::<ComplaintAdapter>();
                match taken {
                    Ok((png, rgb, width, height)) => {
                        *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(png);
                        let pixels = SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(&rgb, width, height);
                        a.set_photo(Image::from_rgb8(pixels));
                        a.set_photo_state(2);
                    }
                    Err(e) => {
                        eprintln!("no photo: {e}");
                        a.set_photo_state(3);
                    }
                }
            });
        });
    }

    /// The kiosk stands at `here` from now on: problems are reported there unless touched elsewhere.
    pub fn relocate(&self, window: &MainWindow, here: [f64; 2]) {
        self.here.set(here);
        self.mark(window, here);
    }
}

/// The kinds of problem, in both languages.
fn show_categories(window: &MainWindow, list: &[ComplaintCategory]) {
    let rows: Vec<CategoryRow> = list
        .iter()
        .map(|c| CategoryRow {
            code: c.code.as_str().into(),
            name_vi: c.name_vi.as_str().into(),
            name_en: c.name_en.as_str().into(),
        })
        .collect();
    let pairs: Vec<CategoryPair> = rows
        .chunks(2)
        .enumerate()
        .map(|(i, two)| CategoryPair {
            left: two[0].clone(),
            left_index: (2 * i) as i32,
            right: two.get(1).cloned().unwrap_or_default(),
            right_index: (2 * i + 1) as i32,
        })
        .collect();
    let a = window.global::<ComplaintAdapter>();
    a.set_categories(ModelRc::new(VecModel::from(rows)));
    a.set_category_rows(ModelRc::new(VecModel::from(pairs)));
    a.set_loaded(1);
}

async fn categories(core: &str) -> Option<Vec<ComplaintCategory>> {
    let res = client().ok()?.get(format!("{core}/api/v1/complaint-categories")).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

async fn file(core: &str, session: Option<Arc<Session>>, new: NewComplaint, photo: Option<Vec<u8>>) -> Filed {
    let Ok(http) = client() else { return Filed::Unreachable };
    let url = format!("{core}/api/v1/complaints");
    let Ok(json) = serde_json::to_string(&new) else { return Filed::Unreachable };
    // With a photo: the complaint as the form's `complaint` part, the photo as its `photo` part.
    let make = || match &photo {
        Some(png) => {
            let complaint = Part::text(json.clone());
            let complaint = complaint.mime_str("application/json").unwrap_or_else(|_| Part::text(json.clone()));
            let photo = Part::bytes(png.clone()).file_name("photo.png");
            http.post(&url).multipart(Form::new().part("complaint", complaint).part("photo", photo))
        }
        None => http.post(&url).json(&new),
    };
    let res = match send_as_kiosk(session.as_deref(), &http, make).await {
        Ok(r) => r,
        Err(_) => return Filed::Unreachable,
    };
    if res.status().is_success() {
        return match res.json::<ComplaintReceipt>().await {
            Ok(r) => Filed::Done(Box::new(r)),
            Err(_) => Filed::Unreachable,
        };
    }
    if res.status().is_client_error() {
        let p = res.json::<Problem>().await.ok();
        return Filed::Refused(p.and_then(|p| p.detail.or(Some(p.title))).unwrap_or_default());
    }
    Filed::Unreachable
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk, session: Option<Arc<Session>>) -> Rc<Complaints> {
    let complaints = Rc::new(Complaints {
        core: kiosk.core.as_ref().map(|c| c.trim_end_matches('/').to_string()),
        session,
        meta: kiosk.map.meta.clone(),
        here: Cell::new(kiosk.here),
        point: Cell::new(kiosk.here),
        camera: kiosk.camera.clone(),
        photo: Arc::default(),
        wiped: Arc::default(),
    });
    window.global::<ComplaintAdapter>().set_camera(kiosk.camera.present());
    complaints.mark(window, kiosk.here);
    let a = window.global::<ComplaintAdapter>();
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_open(move || {
        let Some(win) = w.upgrade() else { return };
        let a = win.global::<ComplaintAdapter>();
        if a.get_loaded() == 1 {
            return;
        }
        let Some(core) = c.core.clone() else {
            a.set_loaded(2);
            return;
        };
        a.set_loaded(0);
        let w = w.clone();
        on_thread(
            move || async move { categories(&core).await },
            move |found| {
                let Some(win) = w.upgrade() else { return };
                match found {
                    Some(list) => show_categories(&win, &list),
                    None => win.global::<ComplaintAdapter>().set_loaded(2),
                }
            },
        );
    });
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_pick(move |x, y| {
        if let Some(win) = w.upgrade() {
            c.mark(&win, c.meta.from_box(x, y));
        }
    });
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_take_photo(move || {
        if let Some(win) = w.upgrade() {
            c.take_photo(&win);
        }
    });
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_remove_photo(move || {
        if let Some(win) = w.upgrade() {
            c.drop_photo(&win);
        }
    });
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_start_again(move || {
        if let Some(win) = w.upgrade() {
            c.clear(&win);
        }
    });
    let (w, c) = (window.as_weak(), complaints.clone());
    a.on_file(move || {
        let Some(win) = w.upgrade() else { return };
        let a = win.global::<ComplaintAdapter>();
        if a.get_busy() {
            return;
        }
        let category = usize::try_from(a.get_category()).ok().and_then(|i| a.get_categories().row_data(i));
        let Some(category) = category else {
            a.set_outcome(4);
            return;
        };
        let description = a.get_description().trim().to_string();
        if description.is_empty() {
            a.set_outcome(5);
            return;
        }
        let Some(core) = c.core.clone() else {
            a.set_outcome(3);
            return;
        };
        let [lon, lat] = c.point.get();
        let new = NewComplaint {
            category: category.code.to_string(),
            description,
            lat: Some(lat),
            lon: Some(lon),
            address: None,
            contact: None,
            notify: None,
        };
        a.set_busy(true);
        let photo = c.photo.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (w, session, slot) = (w.clone(), c.session.clone(), c.photo.clone());
        on_thread(
            move || async move { file(&core, session, new, photo).await },
            move |filed| {
                let Some(win) = w.upgrade() else { return };
                let a = win.global::<ComplaintAdapter>();
                a.set_busy(false);
                match filed {
                    Filed::Done(r) => {
                        a.set_number(i32::try_from(r.id).unwrap_or(i32::MAX));
                        a.set_tracking_code(r.tracking_code.as_str().into());
                        a.set_description("".into());
                        // Sent with the report: not kept here.
                        *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        a.set_photo_state(0);
                        a.set_photo(Image::default());
                        a.set_outcome(1);
                    }
                    Filed::Refused(reason) => {
                        a.set_reason(reason.as_str().into());
                        a.set_outcome(2);
                    }
                    Filed::Unreachable => a.set_outcome(3),
                }
            },
        );
    });
    complaints
}
