//! The native menu (muda, through tray-icon) built from the pure model.
//!
//! A state change that keeps the menu's shape updates labels, checks and
//! enabled flags in place, so an open menu is not torn down under the
//! pointer; a change of shape (the keychain item comes or goes) builds a new
//! menu.

use std::collections::HashMap;

use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};

use super::model::{self, Action, Entry};

/// The id of the status line.
const STATUS_ID: &str = "status";

enum Native {
    Item(MenuItem),
    Check(CheckMenuItem),
}

/// A native menu and handles on its items.
pub struct NativeMenu {
    menu: Menu,
    items: HashMap<Action, Native>,
    texts: Vec<MenuItem>,
    shape: Vec<String>,
}

impl NativeMenu {
    /// Builds the native menu for `model`.
    pub fn build(model: &model::Menu) -> Result<NativeMenu, String> {
        let menu = Menu::new();
        let mut native = NativeMenu {
            menu: menu.clone(),
            items: HashMap::new(),
            texts: Vec::new(),
            shape: model.shape(),
        };
        for entry in &model.entries {
            let item = native.make(entry)?;
            menu.append(item.as_ref()).map_err(|err| err.to_string())?;
        }
        Ok(native)
    }

    fn make(&mut self, entry: &Entry) -> Result<Box<dyn IsMenuItem>, String> {
        Ok(match entry {
            Entry::Text(text) => {
                let item = MenuItem::with_id(STATUS_ID, text, false, None);
                self.texts.push(item.clone());
                Box::new(item)
            }
            Entry::Item { action, label, enabled } => {
                let item = MenuItem::with_id(action.id(), label, *enabled, None);
                self.items.insert(*action, Native::Item(item.clone()));
                Box::new(item)
            }
            Entry::Check {
                action,
                label,
                checked,
                enabled,
            } => {
                let item = CheckMenuItem::with_id(action.id(), label, *enabled, *checked, None);
                self.items.insert(*action, Native::Check(item.clone()));
                Box::new(item)
            }
            Entry::Submenu { label, entries } => {
                let submenu = Submenu::new(label, true);
                for entry in entries {
                    let item = self.make(entry)?;
                    submenu.append(item.as_ref()).map_err(|err| err.to_string())?;
                }
                Box::new(submenu)
            }
            Entry::Separator => Box::new(PredefinedMenuItem::separator()),
        })
    }

    /// The menu to hand to the tray icon.
    pub fn menu(&self) -> &Menu {
        &self.menu
    }

    /// Brings the items in line with `model`; `false` when the shape
    /// changed and the menu must be rebuilt instead.
    pub fn update(&self, model: &model::Menu) -> bool {
        if model.shape() != self.shape {
            return false;
        }
        let mut texts = self.texts.iter();
        self.apply(&model.entries, &mut texts);
        true
    }

    fn apply<'a>(&self, entries: &[Entry], texts: &mut impl Iterator<Item = &'a MenuItem>) {
        for entry in entries {
            match entry {
                Entry::Text(text) => {
                    if let Some(item) = texts.next()
                        && item.text() != *text
                    {
                        item.set_text(text);
                    }
                }
                Entry::Item { action, label, enabled } => {
                    if let Some(Native::Item(item)) = self.items.get(action) {
                        if item.text() != *label {
                            item.set_text(label);
                        }
                        item.set_enabled(*enabled);
                    }
                }
                Entry::Check {
                    action,
                    label,
                    checked,
                    enabled,
                } => {
                    if let Some(Native::Check(item)) = self.items.get(action) {
                        if item.text() != *label {
                            item.set_text(label);
                        }
                        item.set_enabled(*enabled);
                        // Always set: the toolkit flips the check itself on a
                        // click, even when the change is then refused.
                        item.set_checked(*checked);
                    }
                }
                Entry::Submenu { entries, .. } => self.apply(entries, texts),
                Entry::Separator => {}
            }
        }
    }
}
