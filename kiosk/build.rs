//! Compiles the kiosk's interface (`ui/app.slint`) with its Vietnamese translation bundled, and
//! with the element information the interface tests find controls by.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations("lang")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the kiosk's interface compiles");
}
