//! Finding a place and walking there: search as the person types, a place's card with the walk
//! from this kiosk (steps, distance, time) drawn on the map, and a QR code of the destination (a
//! `geo:` URI, RFC 5870, that phones open in their maps).

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, VecModel};

use super::Kiosk;
use super::qr::qr;
use crate::map::{MapData, PlaceKind, ShapeKind};
use crate::route::{Router, Turn};
use crate::search::search;
use crate::{MainWindow, PlaceRow, PlacesAdapter, StepRow};

/// The most places listed for a search.
const MAX_FOUND: usize = 8;

pub struct Places {
    map: Rc<MapData>,
    router: Router,
    /// Where the kiosk stands: walks start here (the operators may move it).
    here: std::cell::Cell<[f64; 2]>,
}

impl Places {
    /// The kiosk stands at `here` (longitude, latitude) from now on.
    pub fn relocate(&self, window: &MainWindow, here: [f64; 2]) {
        self.here.set(here);
        let (x, y) = self.spot(here);
        let a = window.global::<PlacesAdapter>();
        a.set_here_x(x);
        a.set_here_y(y);
    }

    /// A point of the map in the interface's 1000 × 1000 box (north up).
    fn spot(&self, p: [f64; 2]) -> (f32, f32) {
        self.map.meta.to_box(p)
    }

    fn path<'a>(&self, lines: impl Iterator<Item = &'a [[f64; 2]]>) -> String {
        let mut out = String::new();
        for line in lines {
            for (i, p) in line.iter().enumerate() {
                let (x, y) = self.spot(*p);
                out.push_str(&format!("{}{x:.1} {y:.1} ", if i == 0 { "M " } else { "L " }));
            }
        }
        out
    }

    /// The map's shapes of a kind, as one path.
    fn shapes(&self, kind: ShapeKind) -> String {
        self.path(self.map.shapes.iter().filter(|s| s.kind == kind).map(|s| s.points.as_slice()))
    }

    /// The search, the list and the card emptied.
    pub fn clear(&self, window: &MainWindow) {
        let a = window.global::<PlacesAdapter>();
        a.set_query("".into());
        a.set_results(ModelRc::new(VecModel::<PlaceRow>::default()));
        a.set_chosen(false);
    }

    fn search(&self, window: &MainWindow, query: &str) {
        let rows: Vec<PlaceRow> = search(&self.map.places, query, MAX_FOUND)
            .into_iter()
            .map(|p| PlaceRow {
                name: p.name.as_str().into(),
                kind: kind_index(p.kind),
                index: self.map.places.iter().position(|q| std::ptr::eq(q, p)).unwrap_or(0) as i32,
            })
            .collect();
        window.global::<PlacesAdapter>().set_results(ModelRc::new(VecModel::from(rows)));
    }

    fn choose(&self, window: &MainWindow, index: usize) {
        let Some(p) = self.map.places.get(index) else { return };
        let a = window.global::<PlacesAdapter>();
        a.set_name(p.name.as_str().into());
        a.set_kind(kind_index(p.kind));
        a.set_address(p.address.clone().unwrap_or_default().into());
        a.set_hours(p.hours.clone().unwrap_or_default().into());
        let english = window.global::<crate::AppAdapter>().get_language() == "en";
        let about = if english { p.about_en.as_ref().or(p.about_vi.as_ref()) } else { p.about_vi.as_ref() };
        a.set_about(about.cloned().unwrap_or_default().into());
        let (tx, ty) = self.spot(p.at);
        a.set_there_x(tx);
        a.set_there_y(ty);
        match self.router.route(&self.map, self.here.get(), p.at) {
            Some(r) => {
                a.set_no_route(false);
                a.set_walk_metres(r.metres.round() as i32);
                a.set_walk_minutes(r.minutes as i32);
                let steps: Vec<StepRow> = r
                    .steps
                    .iter()
                    .map(|s| StepRow {
                        turn: match s.turn {
                            Turn::Start => 0,
                            Turn::Straight => 1,
                            Turn::Left => 2,
                            Turn::Right => 3,
                        },
                        street: s.street.clone().unwrap_or_default().into(),
                        metres: s.metres.round() as i32,
                    })
                    .collect();
                a.set_steps(ModelRc::new(VecModel::from(steps)));
                a.set_route_path(self.path(std::iter::once(r.points.as_slice())).into());
            }
            None => {
                a.set_no_route(true);
                a.set_steps(ModelRc::new(VecModel::<StepRow>::default()));
            }
        }
        a.set_qr(qr(&format!("geo:{:.6},{:.6}?q={:.6},{:.6}", p.at[1], p.at[0], p.at[1], p.at[0])));
        a.set_chosen(true);
    }
}

fn kind_index(k: PlaceKind) -> i32 {
    PlaceKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as i32
}

pub fn setup(window: &MainWindow, kiosk: &Kiosk) -> Rc<Places> {
    let places = Rc::new(Places { router: Router::new(&kiosk.map), map: kiosk.map.clone(), here: kiosk.here.into() });
    let a = window.global::<PlacesAdapter>();
    let minor = places.map.edges.iter().filter(|e| !e.major).map(|e| e.points.as_slice());
    a.set_streets_path(places.path(minor).into());
    let major = places.map.edges.iter().filter(|e| e.major).map(|e| e.points.as_slice());
    a.set_major_path(places.path(major).into());
    a.set_blocks_path(places.shapes(ShapeKind::Block).into());
    a.set_water_path(places.shapes(ShapeKind::Water).into());
    a.set_parks_path(places.shapes(ShapeKind::Park).into());
    a.set_wards_path(places.shapes(ShapeKind::WardBoundary).into());
    places.relocate(window, kiosk.here);
    a.set_credit(places.map.meta.licence.as_str().into());
    a.set_approximate(places.map.meta.approximate);
    let last = Rc::new(RefCell::new(String::new()));
    let (w, p) = (window.as_weak(), places.clone());
    a.on_search(move |q| {
        if let Some(w) = w.upgrade() {
            *last.borrow_mut() = q.to_string();
            p.search(&w, &q);
        }
    });
    let (w, p) = (window.as_weak(), places.clone());
    a.on_choose(move |i| {
        if let Some(w) = w.upgrade() {
            p.choose(&w, i.max(0) as usize);
        }
    });
    let w = window.as_weak();
    a.on_back_to_results(move || {
        if let Some(w) = w.upgrade() {
            w.global::<PlacesAdapter>().set_chosen(false);
        }
    });
    places
}
