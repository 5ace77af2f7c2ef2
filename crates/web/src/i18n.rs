//! English and Arabic. Arabic pages are right to left (`<html lang="ar" dir="rtl">`).

use axum::http::HeaderMap;

use crate::auth::{LANG_COOKIE, cookie};

/// A language of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ar,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Ar => "rtl",
        }
    }

    /// The other language (the toggle's target).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ar,
            Lang::Ar => Lang::En,
        }
    }

    /// `?lang=` when given (and then remembered in a cookie), else the cookie, else English.
    pub fn pick(query: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
        if let Some(l) = query.and_then(Lang::parse) {
            return (l, true);
        }
        (
            cookie(headers, LANG_COOKIE)
                .and_then(Lang::parse)
                .unwrap_or_default(),
            false,
        )
    }

    /// A name given in both languages: the Arabic one on Arabic pages when it is given.
    pub fn name<'a>(self, en: &'a str, ar: &'a str) -> &'a str {
        match self {
            Lang::Ar if !ar.trim().is_empty() => ar,
            _ => en,
        }
    }

    /// The text of `key` in this language (the key itself if it has none, which a test
    /// forbids for every key the pages use).
    pub fn t(self, key: &'static str) -> &'static str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, ar)) => match self {
                Lang::En => en,
                Lang::Ar => ar,
            },
            None => key,
        }
    }
}

/// `(key, English, Arabic)`.
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "Bawaba", "بوابة"),
    (
        "app.sub",
        "Port of Aqaba — truck gates",
        "ميناء العقبة — بوابات الشاحنات",
    ),
    ("lang.switch", "العربية", "English"),
    ("login.title", "Sign in", "تسجيل الدخول"),
    (
        "login.token",
        "Bawaba token (authority or operator)",
        "رمز بوابة (سلطة أو مشغّل)",
    ),
    ("login.submit", "Sign in", "دخول"),
    (
        "login.bad",
        "Unknown or revoked token.",
        "رمز غير معروف أو ملغى.",
    ),
    (
        "login.role",
        "This token may not sign in here (gate and alert tokens are for systems).",
        "لا يسمح لهذا الرمز بتسجيل الدخول هنا (رموز البوابات والإنذارات مخصصة للأنظمة).",
    ),
    (
        "login.expired",
        "This sign-in form had expired or came from another site. Sign in again here.",
        "انتهت صلاحية نموذج الدخول هذا أو جاء من موقع آخر. سجّل الدخول مرة أخرى هنا.",
    ),
    (
        "login.throttled",
        "Too many failed sign-ins from this address. Try again in {n} minutes.",
        "محاولات دخول فاشلة كثيرة من هذا العنوان. حاول مرة أخرى بعد {n} دقيقة.",
    ),
    ("login.company", "Company account", "حساب الشركة"),
    ("login.staff", "Staff and systems", "الموظفون والأنظمة"),
    ("login.name", "Login name", "اسم الدخول"),
    ("login.password", "Password", "كلمة المرور"),
    (
        "login.refused",
        "Wrong login name or password. Five failures in a row lock the account for 15 minutes.",
        "اسم الدخول أو كلمة المرور غير صحيحة. خمس محاولات فاشلة متتالية تقفل الحساب لمدة 15 دقيقة.",
    ),
    ("portal.title", "Our bookings", "حجوزاتنا"),
    ("portal.bookings", "Bookings", "الحجوزات"),
    ("portal.book", "Book a visit", "حجز زيارة"),
    (
        "portal.no_bookings",
        "No bookings match.",
        "لا حجوزات مطابقة.",
    ),
    ("portal.booking_id", "Booking", "الحجز"),
    ("portal.visit", "Visit", "الزيارة"),
    ("portal.state", "State", "الحالة"),
    ("portal.any", "Any", "الكل"),
    ("portal.from", "Windows from", "الفترات من"),
    ("portal.to", "to", "إلى"),
    ("portal.filter", "Filter", "تصفية"),
    ("book.type", "Transaction", "نوع المعاملة"),
    ("book.from", "Week from", "الأسبوع ابتداءً من"),
    ("book.show", "Show windows", "عرض الفترات"),
    ("book.windows", "Choose a window", "اختر فترة"),
    (
        "book.nearest",
        "Nearest free windows",
        "أقرب الفترات المتاحة",
    ),
    ("book.free", "free", "متاح"),
    ("book.closed", "closed", "مغلق"),
    ("book.containers", "Containers", "الحاويات"),
    (
        "book.bad_container",
        "Not a valid container number (4 letters, 6 digits and a check digit):",
        "رقم حاوية غير صالح (4 أحرف و6 أرقام ورقم تحقق):",
    ),
    (
        "book.second",
        "Add a stop in another zone",
        "إضافة محطة في منطقة أخرى",
    ),
    ("book.no_second", "No second stop", "لا محطة ثانية"),
    ("book.window_start", "Window start", "بداية الفترة"),
    ("book.window", "Window", "الفترة"),
    ("book.submit", "Book", "احجز"),
    ("booking.move", "Move", "نقل"),
    ("booking.stop", "Stop", "المحطة"),
    (
        "booking.too_late",
        "Too late to change: the change cut-off was",
        "فات وقت التعديل: كان آخر موعد للتعديل",
    ),
    (
        "booking.no_window",
        "No other free window near this one.",
        "لا فترة متاحة أخرى قريبة من هذه.",
    ),
    (
        "booking.to",
        "To the window starting",
        "إلى الفترة التي تبدأ",
    ),
    ("booking.cancel", "Cancel the booking", "إلغاء الحجز"),
    ("booking.booked", "Booked.", "تم الحجز."),
    ("booking.moved", "Moved.", "تم النقل."),
    ("booking.cancelled", "Cancelled.", "أُلغي الحجز."),
    ("slip.title", "Booking slip", "قسيمة الحجز"),
    (
        "slip.hint",
        "Show this slip at the gate: the operator scans the code or types the booking number. Times are Amman time.",
        "أبرز هذه القسيمة عند البوابة: يمسح المشغّل الرمز أو يكتب رقم الحجز. الأوقات بتوقيت عمّان.",
    ),
    ("slip.print", "Print", "طباعة"),
    ("slip.image", "Save as image", "حفظ كصورة"),
    ("slip.back", "Back to the booking", "العودة إلى الحجز"),
    (
        "refused.invalid",
        "Please check what you typed",
        "يرجى التحقق مما كتبته",
    ),
    ("refused.full", "This window is full", "هذه الفترة ممتلئة"),
    (
        "refused.cap",
        "Your company already holds its share of this window",
        "تشغل شركتك حصتها من هذه الفترة بالفعل",
    ),
    (
        "refused.closed",
        "The zone is closed at that time",
        "المنطقة مغلقة في ذلك الوقت",
    ),
    ("refused.not_found", "Not found", "غير موجود"),
    (
        "refused.rule",
        "A booking rule does not allow this",
        "قاعدة حجز لا تسمح بهذا",
    ),
    ("refused.forbidden", "You may not do this", "لا يسمح لك بهذا"),
    (
        "refused.failed",
        "Something failed on our side; try again",
        "حدث خطأ من جهتنا؛ حاول مرة أخرى",
    ),
    ("events.title", "Events", "الأحداث"),
    ("events.at", "Time", "الوقت"),
    ("events.kind", "Event", "الحدث"),
    ("events.webhook", "Webhook", "عنوان الإشعارات (Webhook)"),
    ("events.sms", "Text to the driver", "رسالة للسائق"),
    ("events.delivered", "delivered", "سُلّم"),
    ("events.failed", "failing, retried", "فشل، يُعاد"),
    ("events.gave_up", "given up", "توقفت المحاولات"),
    ("events.not_sent", "not sent", "لم يُرسل"),
    ("events.not_texted", "no text", "لا رسالة"),
    ("events.none", "No events yet.", "لا أحداث بعد."),
    ("events.older", "Older events", "أحداث أقدم"),
    (
        "events.delivered_through",
        "delivered through event",
        "سُلّمت الأحداث حتى",
    ),
    (
        "events.no_webhook",
        "No webhook set: events are not sent to your systems.",
        "لا عنوان إشعارات: لا تُرسل الأحداث إلى أنظمتكم.",
    ),
    (
        "events.url",
        "Address (https://...)",
        "العنوان (https://...)",
    ),
    (
        "events.secret",
        "Secret (empty: one is made)",
        "السر (فارغ: يُنشأ تلقائياً)",
    ),
    ("events.save", "Set webhook", "تعيين عنوان الإشعارات"),
    (
        "events.hint",
        "Each event is posted as JSON, signed with the secret (header Bawaba-Signature), and retried for a day.",
        "يُرسل كل حدث بصيغة JSON موقّعاً بالسر (الترويسة Bawaba-Signature)، وتُعاد المحاولة لمدة يوم.",
    ),
    (
        "events.secret_once",
        "Webhook set. Its secret, shown this once:",
        "تم تعيين عنوان الإشعارات. السر، ويُعرض هذه المرة فقط:",
    ),
    ("fleet.title", "Fleet", "الأسطول"),
    (
        "fleet.add",
        "Add or change a truck",
        "إضافة شاحنة أو تعديلها",
    ),
    ("fleet.tag", "RFID tag", "بطاقة RFID"),
    ("fleet.driver", "Driver", "السائق"),
    ("fleet.phone", "Driver's mobile", "هاتف السائق"),
    ("fleet.save", "Save truck", "حفظ الشاحنة"),
    (
        "fleet.hint",
        "A truck with the same plate is replaced. The driver gets the booking's text messages in Arabic.",
        "تُستبدل الشاحنة التي لها اللوحة نفسها. يتلقى السائق رسائل الحجز النصية بالعربية.",
    ),
    (
        "fleet.none",
        "No trucks in the fleet yet.",
        "لا شاحنات في الأسطول بعد.",
    ),
    ("fleet.remove", "Remove", "إزالة"),
    ("fleet.saved", "Truck saved.", "حُفظت الشاحنة."),
    (
        "fleet.removed",
        "Truck removed from the fleet.",
        "أُزيلت الشاحنة من الأسطول.",
    ),
    ("accounts.title", "Accounts", "الحسابات"),
    ("accounts.company", "Company", "الشركة"),
    ("accounts.show", "Show", "عرض"),
    ("accounts.new", "New account", "حساب جديد"),
    ("accounts.person", "Name", "الاسم"),
    ("accounts.admin", "Company admin", "مسؤول الشركة"),
    ("accounts.user", "User", "مستخدم"),
    ("accounts.role", "Role", "الدور"),
    ("accounts.create", "Create account", "إنشاء الحساب"),
    (
        "accounts.hint",
        "At least 10 characters for the password; left empty, one is made and shown once. A company admin creates and disables the company's accounts.",
        "كلمة المرور 10 أحرف على الأقل؛ إن تُركت فارغة تُنشأ وتُعرض مرة واحدة. ينشئ مسؤول الشركة حسابات الشركة ويعطّلها.",
    ),
    ("accounts.none", "No accounts yet.", "لا حسابات بعد."),
    ("accounts.enable", "Enable", "تفعيل"),
    ("accounts.disable", "Disable", "تعطيل"),
    ("accounts.disabled", "Disabled", "معطّل"),
    ("accounts.created", "Account created.", "أُنشئ الحساب."),
    (
        "accounts.made",
        "Account created. Its first password, shown this once, for",
        "أُنشئ الحساب. كلمة مروره الأولى، وتُعرض هذه المرة فقط، للحساب",
    ),
    ("accounts.changed", "Account changed.", "عُدّل الحساب."),
    (
        "desk.keys",
        "Keyboard: / goes to the first referral's reason; in a referral, Ctrl+Enter approves and Alt+Enter rejects (Enter alone decides nothing).",
        "لوحة المفاتيح: / للانتقال إلى سبب أول إحالة؛ داخل الإحالة Ctrl+Enter للموافقة وAlt+Enter للرفض (Enter وحده لا يقرر شيئاً).",
    ),
    ("logout", "Sign out", "تسجيل الخروج"),
    (
        "csrf.refused",
        "This form is out of date. Go back, reload the page and send it again.",
        "انتهت صلاحية هذا النموذج. ارجع وأعد تحميل الصفحة ثم أرسله مرة أخرى.",
    ),
    ("forbidden.title", "Not allowed", "غير مسموح"),
    (
        "forbidden.body",
        "This sign-in may not see this page.",
        "لا يسمح تسجيل الدخول هذا بعرض هذه الصفحة.",
    ),
    ("nav.authority", "Authority", "السلطة"),
    ("nav.operator", "Referrals", "الإحالات"),
    ("nav.watch", "Watchlist", "قائمة المراقبة"),
    ("nav.capacity", "Capacity", "السعة"),
    (
        "capacity.title",
        "Capacity and company caps",
        "السعة وحصص الشركات",
    ),
    ("capacity.show", "Show", "عرض"),
    (
        "capacity.overrides",
        "One-off capacities (a date or hours: Eid, an inspection campaign)",
        "سعات استثنائية (يوم أو ساعات: العيد، حملة تفتيش)",
    ),
    ("capacity.none", "None.", "لا شيء."),
    ("capacity.when", "Windows starting", "الفترات التي تبدأ"),
    ("capacity.places", "Places per window", "الأماكن في كل فترة"),
    ("capacity.remove", "Remove", "إزالة"),
    ("capacity.set", "Set", "تعيين"),
    (
        "capacity.confirm",
        "apply anyway (the bookings are kept)",
        "طبّق على أي حال (تبقى الحجوزات)",
    ),
    (
        "capacity.done.override",
        "The one-off capacity is set: the zone's gates and booking follow it.",
        "عُيّنت السعة الاستثنائية: تتبعها بوابات المنطقة والحجز.",
    ),
    (
        "capacity.done.removed",
        "The one-off capacity is removed: its windows follow the weekly template again.",
        "أُزيلت السعة الاستثنائية: تعود فتراتها إلى الجدول الأسبوعي.",
    ),
    (
        "capacity.done.cap",
        "The company's cap is changed.",
        "تغيّرت حصة الشركة.",
    ),
    ("caps.title", "Company caps", "حصص الشركات"),
    (
        "caps.rule",
        "The zone's rule: a company holds at most this share of a window:",
        "قاعدة المنطقة: لا تحجز الشركة أكثر من هذه النسبة من الفترة:",
    ),
    (
        "caps.percent",
        "Share of a window (%)",
        "النسبة من الفترة (٪)",
    ),
    (
        "caps.clear",
        "Back to the zone's rule",
        "العودة إلى قاعدة المنطقة",
    ),
    (
        "caps.hint",
        "empty: back to the zone's rule",
        "فارغ: العودة إلى قاعدة المنطقة",
    ),
    ("watch.title", "Security watchlist", "قائمة المراقبة الأمنية"),
    ("watch.add", "Watch a truck", "مراقبة شاحنة"),
    ("watch.every_zone", "every zone", "كل المناطق"),
    ("tag", "RFID tag", "بطاقة RFID"),
    ("watch.action", "At the gate", "عند البوابة"),
    ("watch.refer", "refer to an operator", "إحالة إلى المشغّل"),
    ("watch.deny", "deny entry", "منع الدخول"),
    ("watch.until", "Until", "حتى"),
    (
        "watch.hint",
        "a plate or a tag (hex); a plate also matches its look-alikes (0/O, 1/I); times in Amman time",
        "لوحة أو بطاقة (ست عشري)؛ وتطابق اللوحة أيضًا ما يشبهها (0/O و1/I)؛ الأوقات بتوقيت عمّان",
    ),
    ("watch.in_force", "In force", "السارية"),
    ("watch.empty", "Nobody is watched.", "لا أحد تحت المراقبة."),
    ("watch.target", "Plate or tag", "اللوحة أو البطاقة"),
    ("watch.added", "Added", "أُضيفت"),
    ("watch.zones", "Zones", "المناطق"),
    ("watch.remove", "Stop watching", "إيقاف المراقبة"),
    ("watch.no_expiry", "until taken off", "حتى إزالتها"),
    (
        "watch.added_done",
        "The truck is watched: the zones' gates hold it from their next read.",
        "الشاحنة تحت المراقبة: توقفها بوابات المناطق من القراءة التالية.",
    ),
    (
        "watch.removed_done",
        "The truck is no longer watched.",
        "لم تعد الشاحنة تحت المراقبة.",
    ),
    ("authority.title", "Port authority", "سلطة الميناء"),
    ("operator.title", "Gate operator", "مشغّل البوابة"),
    ("day", "Day", "اليوم"),
    ("show", "Show", "عرض"),
    ("times.local", "Times in Asia/Amman", "الأوقات بتوقيت عمّان"),
    ("kpi.entries", "Trucks in", "شاحنات دخلت"),
    ("kpi.exits", "Trucks out", "شاحنات خرجت"),
    ("kpi.inside", "Inside now", "في الداخل الآن"),
    ("kpi.open", "Open referrals", "إحالات مفتوحة"),
    ("kpi.oldest", "Oldest waiting", "أقدم انتظار"),
    ("kpi.referred", "Referred this day", "إحالات هذا اليوم"),
    ("kpi.approved", "approved", "موافق عليها"),
    ("kpi.rejected", "rejected", "مرفوضة"),
    ("kpi.noshows", "No-shows", "عدم حضور"),
    (
        "throughput",
        "Throughput per hour against capacity",
        "الإنتاجية بالساعة مقابل السعة",
    ),
    ("throughput.gates", "Per gate", "حسب البوابة"),
    ("entries", "Entries", "دخول"),
    ("exits", "Exits", "خروج"),
    ("capacity", "Capacity", "السعة"),
    ("booked", "Booked", "محجوز"),
    ("total", "Total", "المجموع"),
    ("peak", "Peak hour", "ساعة الذروة"),
    ("gate", "Gate", "البوابة"),
    ("zone", "Zone", "المنطقة"),
    (
        "reports.title",
        "Gates' reports and the no-show sweep",
        "تقارير البوابات وتسجيل عدم الحضور",
    ),
    (
        "reports.explain",
        "A booking becomes a no-show only once every gate of its zone has reported past its window: a gate that cannot reach the scheduler may hold the passage of a truck that came.",
        "لا يسجَّل الحجز عدم حضور إلا بعد أن تبلغ كل بوابات منطقته عمّا بعد فترته: فالبوابة التي لا تصل إلى المجدول قد تحمل عبور شاحنة حضرت.",
    ),
    ("reports.through", "Reported up to", "أبلغت حتى"),
    ("referral.new", "New referral", "إحالة جديدة"),
    ("unit.s", "s", "ث"),
    ("unit.min", "min", "د"),
    ("unit.h", "h", "س"),
    (
        "closure.policy",
        "The bookings it hits",
        "الحجوزات المتأثرة",
    ),
    (
        "closure.policy.notify",
        "keep them; their companies are told (none becomes a no-show)",
        "تبقى؛ وتُبلَّغ شركاتها (ولا يُسجَّل أي منها عدم حضور)",
    ),
    (
        "closure.policy.rebook",
        "move each to the nearest free window after the closure (those that cannot move stay)",
        "نقل كل منها إلى أقرب فترة شاغرة بعد الإغلاق (وما لا يمكن نقله يبقى)",
    ),
    (
        "closure.rebooked",
        "moved after the closure",
        "نُقلت إلى ما بعد الإغلاق",
    ),
    ("closure.cancelled", "cancelled", "أُلغيت"),
    (
        "closure.kept",
        "stay in the closure (their companies are told)",
        "بقيت ضمن الإغلاق (أُبلغت شركاتها)",
    ),
    (
        "closure.policy.cancel",
        "cancel them, naming the closure",
        "تُلغى مع ذكر الإغلاق",
    ),
    ("reports.behind", "Behind", "التأخر"),
    (
        "reports.holds",
        "holds its zone's no-shows",
        "تؤخر تسجيل عدم الحضور في منطقتها",
    ),
    (
        "reports.never",
        "never reported (holds nothing)",
        "لم تبلغ قط (لا تؤخر شيئاً)",
    ),
    (
        "reports.held",
        "No-shows are waiting for a silent gate:",
        "تسجيل عدم الحضور ينتظر بوابة صامتة:",
    ),
    (
        "reports.see",
        "See the gates' reports.",
        "انظر تقارير البوابات.",
    ),
    ("hour", "Hour", "الساعة"),
    (
        "slots",
        "Slot use (booked / capacity)",
        "استخدام الفترات (محجوز / السعة)",
    ),
    ("slots.closed", "closed", "مغلقة"),
    (
        "turn",
        "Turn time (minutes, entry to exit)",
        "زمن الدورة (دقائق، من الدخول إلى الخروج)",
    ),
    ("turn.visits", "Visits", "الزيارات"),
    ("turn.all", "All day", "كامل اليوم"),
    ("queue", "Queue and referrals", "الطابور والإحالات"),
    ("denied", "Denied", "مرفوض"),
    (
        "companies",
        "No-shows and late arrivals per company",
        "عدم الحضور والتأخر حسب الشركة",
    ),
    ("company", "Company", "الشركة"),
    ("bookings", "Bookings", "الحجوزات"),
    ("arrived", "Arrived", "وصلت"),
    ("late", "Late", "متأخرة"),
    ("cancelled", "Cancelled", "ملغاة"),
    (
        "noshows.all",
        "No-shows (all days)",
        "عدم الحضور (كل الأيام)",
    ),
    (
        "closures",
        "Closures in force or to come",
        "الإغلاقات السارية أو القادمة",
    ),
    ("closure.from", "From", "من"),
    ("closure.to", "To", "إلى"),
    ("closure.reason", "Reason", "السبب"),
    ("closure.hit", "Bookings hit", "الحجوزات المتأثرة"),
    ("closure.now", "in force", "سارية"),
    ("closure.soon", "to come", "قادمة"),
    ("feed", "Live passages", "المرور المباشر"),
    ("feed.live", "live", "مباشر"),
    ("feed.offline", "reconnecting…", "إعادة الاتصال…"),
    ("feed.all", "All of the day's passages", "كل عبور اليوم"),
    ("passages.title", "Passages", "العبور"),
    ("passages.any", "Any decision", "أي قرار"),
    ("time", "Time", "الوقت"),
    ("lane", "Lane", "المسار"),
    ("plate", "Plate", "اللوحة"),
    ("search", "Search", "بحث"),
    (
        "search.label",
        "Booking id, plate or RFID tag",
        "رقم الحجز أو اللوحة أو وسم RFID",
    ),
    (
        "search.hint",
        "Bookings made in the last 60 days and passages of the last 3 days, in your zones; a look-alike plate as read counts.",
        "الحجوزات التي أُنشئت خلال آخر 60 يومًا والعبور خلال آخر 3 أيام في مناطقك؛ وتُحتسب اللوحة المقروءة الشبيهة.",
    ),
    ("search.none", "Nothing found.", "لم يُعثر على شيء."),
    ("search.bookings", "Bookings", "الحجوزات"),
    ("search.passages", "Passages", "العبور"),
    ("search.windows", "Windows", "المواعيد"),
    ("state", "State", "الحالة"),
    ("decision", "Decision", "القرار"),
    ("reason", "Reason", "السبب"),
    ("latency", "Latency", "زمن القرار"),
    ("none", "None.", "لا يوجد."),
    ("referrals.open", "Open referrals", "الإحالات المفتوحة"),
    (
        "referrals.recent",
        "Recently resolved",
        "تمت معالجتها مؤخراً",
    ),
    ("evidence.plate", "Plate read", "اللوحة المقروءة"),
    ("evidence.confidence", "Confidence", "الثقة"),
    ("evidence.epc", "RFID tag (EPC)", "وسم RFID"),
    ("evidence.tag_owner", "Tag's truck", "شاحنة الوسم"),
    (
        "evidence.tag_unknown",
        "In no company's fleet",
        "ليس في أسطول أي شركة",
    ),
    ("evidence.booking", "Booking", "الحجز"),
    ("evidence.nobooking", "No booking found", "لا يوجد حجز"),
    ("evidence.waiting", "Waiting since", "ينتظر منذ"),
    ("evidence.window", "Window", "الفترة"),
    (
        "approve",
        "Approve — open the barrier",
        "موافقة — فتح الحاجز",
    ),
    ("reject", "Reject", "رفض"),
    (
        "resolution.reason",
        "Reason (kept with the decision)",
        "السبب (يحفظ مع القرار)",
    ),
    (
        "resolution.booking",
        "Booking id from the driver's slip (when the gate found no booking or the wrong one)",
        "رقم الحجز من قسيمة السائق (إذا لم تجد البوابة حجزاً أو وجدت حجزاً آخر)",
    ),
    ("resolved.by", "By", "بواسطة"),
    ("decisions.title", "Decisions", "القرارات"),
    ("decisions.mine", "My decisions", "قراراتي"),
    (
        "decisions.all",
        "Everyone's decisions in my zones",
        "قرارات الجميع في مناطقي",
    ),
    ("decisions.link", "All my decisions", "كل قراراتي"),
    (
        "done.approved",
        "Approved; barrier command sent to the gate.",
        "تمت الموافقة؛ أرسل أمر الحاجز إلى البوابة.",
    ),
    (
        "done.approved.nogate",
        "Approved; the gate's agent is not connected, it will not pulse the barrier now.",
        "تمت الموافقة؛ وكيل البوابة غير متصل، لن يفتح الحاجز الآن.",
    ),
    ("done.rejected", "Rejected.", "تم الرفض."),
    ("state.APPROVED", "approved", "موافق عليها"),
    ("state.REJECTED", "rejected", "مرفوضة"),
    ("error", "Error", "خطأ"),
    ("scope.all", "All zones", "كل المناطق"),
    ("audit", "Audit trail", "سجل التدقيق"),
    ("audit.at", "When", "الوقت"),
    ("audit.kind", "Change", "التغيير"),
    ("audit.kind.any", "Any change", "أي تغيير"),
    ("audit.actor", "Who", "من"),
    ("audit.door", "Through", "عبر"),
    ("audit.objects", "Objects", "العناصر"),
    ("audit.changes", "Before → after", "قبل ← بعد"),
    ("audit.from", "From", "من تاريخ"),
    ("audit.to", "Until", "حتى"),
    ("audit.older", "Older records", "سجلات أقدم"),
    ("export", "Export (CSV)", "تصدير (CSV)"),
    ("export.passages", "Passages", "العبور عبر البوابات"),
    ("export.bookings", "Bookings", "الحجوزات"),
    ("export.no_shows", "No-shows", "حالات عدم الحضور"),
    ("export.audit", "Audit trail", "سجل التدقيق"),
    ("export.to", "Until (not included)", "حتى (غير مشمول)"),
    (
        "export.note",
        "Today when no day is given; at most 31 days. Times in Asia/Amman; the file opens with Arabic intact in a spreadsheet.",
        "اليوم إن لم يُحدَّد يوم؛ 31 يومًا على الأكثر. الأوقات بتوقيت عمّان، ويفتح الملف في جداول البيانات والعربية سليمة.",
    ),
    ("audit.kind.zone.saved", "Zone saved", "حفظ منطقة"),
    (
        "audit.kind.zone.template_set",
        "Capacity template set",
        "تعديل قالب السعة",
    ),
    (
        "audit.kind.zone.rules_set",
        "Booking rules set",
        "تعديل قواعد الحجز",
    ),
    ("audit.kind.closure.added", "Zone closed", "إغلاق منطقة"),
    ("audit.kind.closure.removed", "Closure lifted", "رفع إغلاق"),
    (
        "audit.kind.closure.changed",
        "Closure changed",
        "تعديل إغلاق",
    ),
    (
        "audit.kind.capacity.override_added",
        "One-off capacity set",
        "تحديد سعة استثنائية",
    ),
    (
        "audit.kind.capacity.override_removed",
        "One-off capacity removed",
        "إلغاء سعة استثنائية",
    ),
    (
        "audit.kind.booking.no_show_taken_back",
        "No-show taken back (the truck came)",
        "إلغاء تسجيل عدم الحضور (حضرت الشاحنة)",
    ),
    (
        "audit.kind.webhook.set",
        "Webhook set",
        "تعيين عنوان الإشعارات (Webhook)",
    ),
    (
        "audit.kind.fleet.truck_saved",
        "Fleet truck saved",
        "حفظ شاحنة في الأسطول",
    ),
    (
        "audit.kind.account.created",
        "Portal account created",
        "إنشاء حساب في البوابة",
    ),
    (
        "audit.kind.account.changed",
        "Portal account changed",
        "تعديل حساب في البوابة",
    ),
    (
        "audit.kind.account.locked",
        "Portal account locked (failed logins)",
        "قفل حساب في البوابة (محاولات دخول فاشلة)",
    ),
    (
        "audit.kind.fleet.truck_removed",
        "Fleet truck removed",
        "حذف شاحنة من الأسطول",
    ),
    (
        "audit.kind.webhook.removed",
        "Webhook removed",
        "حذف عنوان الإشعارات (Webhook)",
    ),
    (
        "audit.kind.watch.added",
        "Put on the watchlist",
        "إضافة إلى قائمة المراقبة",
    ),
    (
        "audit.kind.watch.removed",
        "Taken off the watchlist",
        "حذف من قائمة المراقبة",
    ),
    (
        "watchlist.mark",
        "On the security watchlist",
        "على قائمة المراقبة الأمنية",
    ),
    (
        "alerts.pending",
        "Alerts waiting for confirmation",
        "إنذارات بانتظار التأكيد",
    ),
    (
        "alerts.pending.help",
        "The early warning system called for these closures; they act only once confirmed.",
        "طلب نظام الإنذار المبكر هذه الإغلاقات؛ ولا تسري إلا بعد تأكيدها.",
    ),
    ("alerts.hit", "bookings affected:", "الحجوزات المتأثرة:"),
    ("closure.new", "Close a zone…", "إغلاق منطقة…"),
    (
        "closure.preview",
        "Show the bookings hit",
        "عرض الحجوزات المتأثرة",
    ),
    (
        "closure.impact",
        "Before closing: the bookings this closure hits",
        "قبل الإغلاق: الحجوزات التي يمسّها هذا الإغلاق",
    ),
    (
        "closure.confirm",
        "Close the zone: gates let no truck in",
        "أغلق المنطقة: لا تسمح البوابات بدخول أي شاحنة",
    ),
    ("closure.lift", "Lift", "رفع الإغلاق"),
    (
        "closure.back",
        "bookings in the lifted windows can come as booked again: tell their companies.",
        "حجوزات في الفترات التي رُفع عنها الإغلاق يمكنها الحضور كما حُجزت: أبلغوا شركاتها.",
    ),
    (
        "closure.done",
        "The zone is closed: its gates are told and its windows take no bookings.",
        "أُغلقت المنطقة: أُبلغت بواباتها ولا تقبل فتراتها حجوزات.",
    ),
    (
        "closure.lifted",
        "The closure is lifted: the zone is open again.",
        "رُفع الإغلاق: عادت المنطقة مفتوحة.",
    ),
    ("booking", "Booking", "الحجز"),
    ("alerts.source", "Alert", "الإنذار"),
    ("alerts.received", "received", "استُلم"),
    ("alerts.confirm", "Confirm the closure", "تأكيد الإغلاق"),
    ("alerts.dismiss", "Dismiss", "تجاهل"),
    (
        "alerts.confirmed",
        "The closure is confirmed: the zone closes and the gates are told.",
        "تم تأكيد الإغلاق: تُغلق المنطقة وتُبلَّغ البوابات.",
    ),
    (
        "alerts.dismissed",
        "The alert was dismissed: the zone stays open.",
        "تم تجاهل الإنذار: تبقى المنطقة مفتوحة.",
    ),
    ("audit.kind.alert.received", "Alert received", "استلام إنذار"),
    (
        "audit.kind.alert.dismissed",
        "Alert dismissed",
        "تجاهل إنذار",
    ),
    (
        "audit.kind.company_cap.set",
        "Company cap set",
        "تعديل حصة شركة",
    ),
    ("audit.kind.gate.saved", "Gate saved", "حفظ بوابة"),
    (
        "audit.kind.referral.resolved",
        "Referral decided",
        "البت في إحالة",
    ),
    (
        "audit.kind.booking.created",
        "Booking made by the authority",
        "حجز أجرته السلطة",
    ),
    (
        "audit.kind.booking.moved",
        "Booking moved by the authority",
        "نقل حجز من قبل السلطة",
    ),
    (
        "audit.kind.booking.cancelled",
        "Booking cancelled by the authority",
        "إلغاء حجز من قبل السلطة",
    ),
    ("audit.kind.token.issued", "Token issued", "إصدار رمز وصول"),
    (
        "audit.kind.token.revoked",
        "Token revoked",
        "إلغاء رمز وصول",
    ),
    ("audit.door.grpc", "API (gRPC)", "واجهة البرمجة (gRPC)"),
    ("audit.door.web", "Dashboard", "لوحة المتابعة"),
    ("audit.door.cli", "Command line", "سطر الأوامر"),
    ("audit.door.system", "System", "النظام"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_translated_once() {
        let mut keys = std::collections::HashSet::new();
        for (k, en, ar) in STRINGS {
            assert!(keys.insert(k), "duplicate key {k}");
            assert!(!en.is_empty() && !ar.is_empty(), "{k} lacks a text");
            assert_ne!(en, ar, "{k} is not translated");
        }
        assert_eq!(Lang::Ar.t("feed"), "المرور المباشر");
        assert_eq!(Lang::En.dir(), "ltr");
        assert_eq!(Lang::Ar.dir(), "rtl");
    }

    #[test]
    fn every_key_used_by_the_pages_exists() {
        let src = [
            include_str!("pages.rs"),
            include_str!("pages/audit.rs"),
            include_str!("pages/alerts.rs"),
            include_str!("pages/closures.rs"),
            include_str!("pages/reports.rs"),
            include_str!("pages/watch.rs"),
            include_str!("pages/capacity.rs"),
            include_str!("routes/capacity.rs"),
            include_str!("routes/watchlist.rs"),
        ]
        .concat();
        let mut rest = src.as_str();
        let mut n = 0;
        while let Some(i) = rest.find(".t(\"") {
            rest = &rest[i + 4..];
            let key = &rest[..rest.find('"').unwrap()];
            assert!(
                STRINGS.iter().any(|(k, _, _)| *k == key),
                "pages.rs uses the key {key:?}, which has no text"
            );
            n += 1;
        }
        assert!(n > 30, "only {n} keys found in pages.rs");
    }
}
