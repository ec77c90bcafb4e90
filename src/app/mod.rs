//! The application core: state the UI renders, the actions keys map to, the background worker
//! that talks to the cluster, and the event loop (which hands the state to `ui::render`).
//! Nothing here draws: `ui` reads the state, `app` owns it.

pub mod action;
pub mod bundled;
pub mod keymap;
pub mod run;
pub mod state;
pub mod tables;
pub mod worker;
