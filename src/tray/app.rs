//! The GUI thread: tao's event loop, the tray icon, the clipboard and
//! launch at login. Everything slow happens on the controller's task.

use std::sync::{Arc, Mutex};

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::MenuEvent;
use tray_icon::{TrayIcon, TrayIconBuilder};

use super::menu::NativeMenu;
use super::model::{self, Action, TrayState};
use super::preflight::{self, TrayError};
use super::{hook, icons};
use crate::autostart::Autostart;
use crate::control::{self, Command, Controller, Phase, Remote, Sink, Snapshot, Update};
use crate::home::Home;
use crate::notify::{DesktopNotifier, Notice, Notifier};

/// What wakes the event loop.
#[derive(Debug)]
pub enum UserEvent {
    /// From the controller.
    Update(Update),
    /// A menu item was clicked (or the test hook named one): its id.
    Menu(String),
}

/// The controller's updates, posted to the event loop.
struct ProxySink(Mutex<EventLoopProxy<UserEvent>>);

impl Sink for ProxySink {
    fn update(&self, update: Update) {
        if let Ok(proxy) = self.0.lock() {
            let _ = proxy.send_event(UserEvent::Update(update));
        }
    }
}

/// Runs the tray until Quit. Returns only when it cannot start (no
/// display, no tray library); after that the event loop owns the process.
pub fn run(home: Home) -> Result<(), TrayError> {
    preflight::check()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("switchyard")
        .build()
        .map_err(|err| TrayError::Runtime(err.to_string()))?;
    let event_loop = EventLoopBuilder::<UserEvent>::with_user_event().build();
    let proxy = event_loop.create_proxy();
    {
        let proxy = Mutex::new(proxy.clone());
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Ok(proxy) = proxy.lock() {
                let _ = proxy.send_event(UserEvent::Menu(event.id.0));
            }
        }));
    }
    let notifier: Arc<dyn Notifier> = Arc::new(DesktopNotifier);
    let remote = Controller::spawn(
        runtime.handle(),
        home.clone(),
        control::platform_stores(),
        notifier.clone(),
        Arc::new(ProxySink(Mutex::new(proxy.clone()))),
    );
    let test_hook = hook::enabled();
    if test_hook {
        hook::spawn(move |id| proxy.send_event(UserEvent::Menu(id)).is_ok());
    }
    let autostart = Autostart::for_current_exe()
        .inspect_err(|err| tracing::warn!("{err}"))
        .ok();
    let mut app = App {
        state: TrayState {
            gateway: Snapshot {
                phase: Phase::Stopped,
                port: crate::config::DEFAULT_PORT,
                lan: false,
                keychain_unavailable: false,
                connected: Vec::new(),
                accounts: Vec::new(),
            },
            autostart: autostart.as_ref().and_then(|a| a.is_enabled().ok()),
        },
        home,
        remote,
        notifier,
        autostart,
        tray: None,
        menu: None,
        icon: None,
        clipboard: None,
        test_hook,
        last_report: String::new(),
        _runtime: runtime,
    };
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            // The icon is made once the loop runs (macOS needs the app
            // launched first; GTK is initialised by then on Linux).
            Event::NewEvents(StartCause::Init) => {
                if let Err(err) = app.create_tray() {
                    eprintln!("switchyard: {err}");
                    std::process::exit(1);
                }
            }
            Event::UserEvent(UserEvent::Update(Update::Exited)) => *control_flow = ControlFlow::Exit,
            Event::UserEvent(UserEvent::Update(update)) => app.update(update),
            Event::UserEvent(UserEvent::Menu(id)) => app.click(&id),
            _ => {}
        }
    })
}

/// The GUI thread's state.
struct App {
    state: TrayState,
    home: Home,
    remote: Remote,
    notifier: Arc<dyn Notifier>,
    autostart: Option<Autostart>,
    tray: Option<TrayIcon>,
    menu: Option<NativeMenu>,
    icon: Option<model::Icon>,
    /// Kept alive: on X11 the copied text lives as long as its owner.
    clipboard: Option<arboard::Clipboard>,
    test_hook: bool,
    last_report: String,
    /// The gateway's runtime lives as long as the loop.
    _runtime: tokio::runtime::Runtime,
}

impl App {
    fn create_tray(&mut self) -> Result<(), TrayError> {
        let model = model::Menu::for_state(&self.state);
        let native = NativeMenu::build(&model).map_err(TrayError::Icon)?;
        let icon = icons::icon(model.icon).map_err(TrayError::Icon)?;
        let tray = TrayIconBuilder::new()
            .with_id("switchyard")
            .with_menu(Box::new(native.menu().clone()))
            .with_icon(icon)
            .with_tooltip(&model.tooltip)
            .build()
            .map_err(|err| TrayError::Icon(err.to_string()))?;
        self.tray = Some(tray);
        self.menu = Some(native);
        self.icon = Some(model.icon);
        self.render();
        Ok(())
    }

    fn update(&mut self, update: Update) {
        match update {
            Update::State(snapshot) => self.state.gateway = snapshot,
            Update::ApiKey(key) => self.copy(key.0, "api-key"),
            Update::DashboardKey(key) => self.open_dashboard(&key.0),
            Update::Exited => {}
        }
        self.render();
    }

    fn click(&mut self, id: &str) {
        let Some(action) = Action::from_id(id) else {
            return;
        };
        let base = self.state.gateway.base_url();
        match action {
            Action::Toggle => match self.state.gateway.phase {
                Phase::Running { .. } => self.remote.send(Command::Stop),
                Phase::Stopped | Phase::Failed(_) => self.remote.send(Command::Start),
                Phase::Starting | Phase::Stopping => {}
            },
            Action::CopyOpenAiUrl => self.copy(format!("{base}/v1"), "base-url-openai"),
            Action::CopyRootUrl => self.copy(base, "base-url"),
            Action::CopyKey => self.remote.send(Command::CopyKey),
            Action::Lan => self.remote.send(Command::SetLan(!self.state.gateway.lan)),
            Action::Autostart => self.toggle_autostart(),
            Action::OpenDashboard => self.remote.send(Command::OpenDashboard),
            Action::OpenConfig => {
                if let Err(err) = open::that_detached(&self.home.config_dir) {
                    tracing::warn!(error = %err, folder = %self.home.config_dir.display(), "cannot open the config folder");
                }
            }
            Action::UseFileStore => self.remote.send(Command::UseFileStore),
            Action::Connect(tool) => self.remote.send(Command::Connect(tool)),
            Action::Quit => self.remote.send(Command::Quit),
        }
        // The toolkit flips a check item on click; put it back in line
        // with the state until the change (if any) is reported.
        self.render();
    }

    /// Opens `/ui` in the browser with the key in the fragment, which the
    /// page reads and forgets from the address bar, so the user never pastes it.
    fn open_dashboard(&self, key: &str) {
        let base = self.state.gateway.base_url();
        let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        if let Err(err) = open::that_detached(format!("{base}/ui#key={encoded}")) {
            tracing::warn!(error = %err, url = %format!("{base}/ui"), "cannot open the dashboard in a browser");
        }
    }

    fn toggle_autostart(&mut self) {
        let Some(autostart) = &self.autostart else {
            return;
        };
        let want = !self.state.autostart.unwrap_or(false);
        if let Err(err) = autostart.set(want) {
            self.notifier.notify(&Notice::Autostart(err.to_string()));
        }
        self.state.autostart = autostart.is_enabled().ok();
    }

    fn copy(&mut self, text: String, what: &str) {
        if self.clipboard.is_none() {
            self.clipboard = arboard::Clipboard::new()
                .inspect_err(|err| tracing::warn!(error = %err, "no clipboard"))
                .ok();
        }
        let Some(clipboard) = &mut self.clipboard else {
            return;
        };
        match clipboard.set_text(text) {
            Ok(()) if self.test_hook => hook::report(&format!("copied: {what}")),
            Ok(()) => {}
            Err(err) => tracing::warn!(error = %err, "copying to the clipboard failed"),
        }
    }

    fn render(&mut self) {
        let model = model::Menu::for_state(&self.state);
        if let Some(tray) = &self.tray {
            let updated = self.menu.as_ref().is_some_and(|native| native.update(&model));
            if !updated {
                match NativeMenu::build(&model) {
                    Ok(native) => {
                        tray.set_menu(Some(Box::new(native.menu().clone())));
                        self.menu = Some(native);
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot rebuild the tray menu"),
                }
            }
            if self.icon != Some(model.icon) {
                match icons::icon(model.icon).map(|icon| tray.set_icon(Some(icon))) {
                    Ok(_) => self.icon = Some(model.icon),
                    Err(err) => tracing::warn!(error = %err, "cannot change the tray icon"),
                }
            }
            let _ = tray.set_tooltip(Some(&model.tooltip));
        }
        if self.test_hook && self.tray.is_some() {
            let on = |b: bool| if b { "on" } else { "off" };
            let line = format!(
                "state: {} | lan={} autostart={} icon={:?}",
                model.status(),
                on(self.state.gateway.lan),
                on(self.state.autostart.unwrap_or(false)),
                model.icon
            );
            if line != self.last_report {
                hook::report(&line);
                self.last_report = line;
            }
        }
    }
}
