"""The demo generator's vocabulary: each taste's category (brands, products, aspects with their good and bad
words, contexts, who its fans are, and the ages, genders and incomes of its users), in English and Chinese,
and the sentence templates a review is built from (short, opening, body and closing, by sentiment).

Only :mod:`segmentation.demo` reads these; a change here changes the committed demo files, which
``python -m segmentation.demo`` rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class _Category:
    taste: str
    code: str
    brands: tuple[str, ...]
    products: tuple[tuple[str, str], ...]  # (product name, the noun a review uses for it)
    aspects: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # (aspect, good, bad)
    contexts: tuple[str, ...]
    fans: str  # completes "anyone who ..."
    emoji: str
    age: float
    gender: tuple[float, float, float]
    income: tuple[float, float, float, float]


_EN = (
    _Category(
        "coffee", "COF", ("Barista", "Roastline"),
        (
            ("Burr Grinder", "grinder"), ("Espresso Machine", "machine"), ("Gooseneck Kettle", "kettle"),
            ("French Press", "press"), ("Milk Frother", "frother"), ("Cold Brew Maker", "cold brew maker"),
            ("Moka Pot", "moka pot"), ("Coffee Scale", "scale"), ("Pour-Over Dripper", "dripper"),
            ("Drip Coffee Maker", "coffee maker"),
        ),
        (
            ("grind", ("perfectly even", "consistent from espresso fine to French press coarse"),
             ("uneven and full of fines", "all over the place")),
            ("espresso", ("rich with thick crema", "sweet and balanced"),
             ("sour and thin", "bitter every time")),
            ("brew temperature", ("spot on", "stable shot after shot"),
             ("too low for light roasts", "unstable")),
            ("cleanup", ("quick, just a rinse", "easy even for the burrs"),
             ("a pain", "messy with grounds everywhere")),
            ("flavour of my beans", ("clean and fruity", "finally sweet, not bitter"),
             ("muddy", "flat and dull")),
            ("milk foam", ("silky enough for latte art", "creamy and dense"),
             ("bubbly and thin", "lukewarm")),
        ),
        ("for my morning espresso", "before work", "for weekend pour-overs", "for latte art practice",
         "with light roast beans", "for iced coffee in summer"),
        "takes their coffee seriously", "☕", 38.0, (0.45, 0.52, 0.03), (0.08, 0.27, 0.37, 0.28),
    ),
    _Category(
        "running", "RUN", ("Stride", "Pacer"),
        (
            ("Road Running Shoe", "shoe"), ("Trail Running Shoe", "trail shoe"),
            ("Carbon Racing Flat", "racer"),
            ("Stability Trainer", "trainer"), ("Cushioned Daily Trainer", "shoe"),
            ("Minimalist Runner", "shoe"),
            ("Waterproof Trail Shoe", "trail shoe"), ("Track Spike", "spike"), ("Recovery Slide", "slide"),
            ("Lightweight Tempo Shoe", "shoe"),
        ),
        (
            ("cushioning", ("soft but still responsive", "great even after 20 miles"),
             ("flat after two weeks", "harsh on my knees")),
            ("grip", ("solid on wet roads", "excellent on muddy trails"),
             ("slippery on wet pavement", "poor on rocks")),
            ("fit", ("true to size with a roomy toe box", "snug at the heel"),
             ("so narrow it gave me blisters", "half a size small")),
            ("weight", ("feather light", "light enough for race day"), ("heavy and clunky", "like a brick")),
            ("breathability", ("great, my feet stay dry", "good in summer heat"),
             ("poor, my feet overheat", "bad on hot days")),
            ("durability", ("excellent, 400 miles and counting", "holding up well"),
             ("bad, the sole peeled", "poor for the price")),
        ),
        ("on my long runs", "for marathon training", "on trails", "for 5k races", "for interval sessions",
         "on my daily commute run"),
        "runs more than a few miles a week", "👟", 33.0, (0.50, 0.48, 0.02), (0.14, 0.34, 0.33, 0.19),
    ),
    _Category(
        "cooking", "KNF", ("Edgecraft", "Forgewell"),
        (
            ("Chef's Knife 8in", "knife"), ("Santoku Knife", "santoku"), ("Paring Knife", "paring knife"),
            ("Bread Knife", "bread knife"), ("Boning Knife", "knife"), ("Nakiri Knife", "nakiri"),
            ("Whetstone Set", "whetstone"), ("Honing Rod", "honing rod"), ("Knife Block Set", "knife set"),
            ("Cleaver", "cleaver"),
        ),
        (
            ("edge", ("razor sharp out of the box", "still sharp after months"),
             ("dull after a week", "chipped already")),
            ("balance", ("perfect in the hand", "right for long prep sessions"), ("blade heavy", "awkward")),
            ("handle", ("comfortable and grippy", "solid wood and nicely finished"),
             ("slippery when wet", "cheap plastic")),
            ("steel", ("hard and easy to sharpen", "rust free so far"),
             ("soft and rolls easily", "spotted with rust")),
            ("slicing", ("clean through tomatoes and onions", "effortless through squash"),
             ("more tearing than cutting", "sticky in carrots")),
            ("sharpening", ("easy on a whetstone", "quick to touch up"),
             ("frustrating", "hard work for a poor edge")),
        ),
        ("for weeknight dinners", "for meal prep", "for sunday roasts", "for dicing vegetables",
         "for breaking down chicken", "for sushi at home"),
        "loves to cook", "🔪", 46.0, (0.55, 0.43, 0.02), (0.07, 0.25, 0.38, 0.30),
    ),
    _Category(
        "audio", "AUD", ("Sonic", "Auralis"),
        (
            ("Noise Cancelling Headphones", "headphones"), ("Wireless Earbuds", "earbuds"),
            ("Studio Monitor Headphones", "headphones"), ("Open-Back Headphones", "headphones"),
            ("Sport Earbuds", "earbuds"), ("Gaming Headset", "headset"), ("Portable DAC", "DAC"),
            ("Bluetooth Speaker", "speaker"), ("In-Ear Monitors", "in-ears"), ("Headphone Amp", "amp"),
        ),
        (
            ("sound", ("clear with deep bass", "detailed and warm"),
             ("muddy in the mids", "tinny and harsh")),
            ("noise cancelling", ("strong enough to silence a train", "great on flights"),
             ("barely noticeable", "weak")),
            ("battery", ("good for a whole week", "good for 30 hours"),
             ("empty after a few hours", "drained overnight")),
            ("comfort", ("fine for hours", "light on the ears"), ("painful after an hour", "too tight")),
            ("bluetooth connection", ("rock solid", "instant to pair"),
             ("unstable, it keeps dropping", "laggy")),
            ("microphone", ("crisp on calls", "clear on zoom"), ("muffled", "full of background noise")),
        ),
        ("on my commute", "at the gym", "on long flights", "for mixing music", "for gaming at night",
         "while working from home"),
        "cares about sound quality", "🎧", 27.0, (0.30, 0.67, 0.03), (0.22, 0.38, 0.26, 0.14),
    ),
    _Category(
        "games", "GAM", ("Meeple", "Tabletop"),
        (
            ("Worker Placement Game", "game"), ("Cooperative Adventure", "game"),
            ("Deck Builder", "deck builder"), ("Party Word Game", "party game"), ("Strategy Epic", "game"),
            ("Two-Player Duel", "game"), ("Dungeon Crawler", "crawler"), ("Trading Route Game", "game"),
            ("Family Dice Game", "dice game"), ("Legacy Campaign", "campaign"),
        ),
        (
            ("rulebook", ("easy to teach from", "clear and well written"),
             ("confusing", "full of exceptions")),
            ("component quality", ("gorgeous, thick cardboard", "great, beautiful minis"),
             ("flimsy", "cheap, the board warped")),
            ("replay value", ("huge, every game feels different", "high"),
             ("low after three plays", "poor")),
            ("player count", ("great at two and at five", "flexible"),
             ("only good at four", "broken at two")),
            ("game length", ("just right at an hour", "short enough for weeknights"),
             ("way too long", "a drag")),
            ("strategy", ("deep without being heavy", "rewarding"), ("luck driven", "shallow")),
        ),
        ("for game night", "with my partner", "with the kids", "at our board game cafe", "with friends",
         "for solo play"),
        "hosts a regular game night", "🎲", 30.0, (0.38, 0.57, 0.05), (0.20, 0.38, 0.28, 0.14),
    ),
    _Category(
        "skincare", "SKN", ("Dermaglow", "Purelle"),
        (
            ("Hydrating Serum", "serum"), ("Daily Moisturizer", "moisturizer"),
            ("Mineral Sunscreen SPF50", "sunscreen"), ("Gentle Cleanser", "cleanser"),
            ("Retinol Night Cream", "cream"), ("Vitamin C Serum", "serum"), ("Exfoliating Toner", "toner"),
            ("Eye Cream", "eye cream"), ("Clay Mask", "mask"), ("Lip Balm", "lip balm"),
        ),
        (
            ("hydration", ("there all day", "enough for my dry skin"),
             ("gone by noon", "not enough for dry skin")),
            ("texture", ("lightweight and fast to absorb", "silky"),
             ("greasy", "sticky and pills under makeup")),
            ("scent", ("subtle and fresh", "barely there"), ("overpowering", "chemical")),
            ("effect on my acne", ("visible within two weeks", "impressive, fewer breakouts"),
             ("zero", "bad, more breakouts")),
            ("feel on sensitive skin", ("calm, no irritation at all", "gentle"),
             ("stinging, with redness", "itchy")),
            ("finish", ("glowy with no white cast", "dewy but not oily"), ("chalky white", "shiny by lunch")),
        ),
        ("in my morning routine", "before makeup", "at night", "after the gym", "in winter",
         "on my sensitive skin"),
        "has a skincare routine", "✨", 34.0, (0.78, 0.19, 0.03), (0.12, 0.32, 0.34, 0.22),
    ),
)
_ZH = (
    _Category(
        "coffee", "COF", ("醇香", "咖友"),
        (("磨豆机", "磨豆机"), ("意式咖啡机", "咖啡机"), ("手冲壶", "手冲壶"), ("法压壶", "法压壶"),
         ("奶泡机", "奶泡机"), ("冷萃壶", "冷萃壶"), ("摩卡壶", "摩卡壶"), ("咖啡秤", "咖啡秤"),
         ("滤杯", "滤杯"), ("美式咖啡机", "咖啡机")),
        (("研磨", ("很均匀", "粗细一致"), ("不均匀", "细粉太多")),
         ("咖啡的味道", ("香浓醇厚", "油脂丰富"), ("发酸", "很淡没有层次")),
         ("水温", ("很稳定", "刚刚好"), ("忽高忽低", "偏低")),
         ("清洗", ("很方便", "简单快捷"), ("很麻烦", "费时间")),
         ("奶泡", ("细腻绵密", "可以拉花"), ("粗糙", "全是大泡")),
         ("做工", ("扎实", "很精致"), ("粗糙", "塑料感强"))),
        ("每天早上做拿铁", "周末手冲", "上班前来一杯", "练习拉花", "做冰咖啡"),
        "爱喝咖啡的朋友", "☕", 34.0, (0.50, 0.48, 0.02), (0.10, 0.30, 0.36, 0.24),
    ),
    _Category(
        "running", "RUN", ("疾风", "跑者"),
        (("缓震跑鞋", "跑鞋"), ("越野跑鞋", "越野鞋"), ("碳板竞速鞋", "竞速鞋"), ("稳定支撑跑鞋", "跑鞋"),
         ("轻量训练鞋", "训练鞋"), ("马拉松跑鞋", "跑鞋"), ("防水越野鞋", "越野鞋"), ("田径钉鞋", "钉鞋"),
         ("恢复拖鞋", "拖鞋"), ("日常慢跑鞋", "跑鞋")),
        (("缓震", ("很软又有回弹", "跑半马也不累"), ("太硬", "两周就塌了")),
         ("抓地力", ("雨天也很稳", "山路表现很好"), ("湿地打滑", "很一般")),
         ("鞋码", ("标准", "包裹性好"), ("偏小", "磨脚起泡")),
         ("重量", ("非常轻", "比赛穿正好"), ("太重", "很笨重")),
         ("透气性", ("很好", "夏天也不闷"), ("很差", "捂脚")),
         ("耐磨", ("很耐穿", "跑了几百公里还好"), ("鞋底开胶", "很快磨平"))),
        ("跑步训练", "马拉松备赛", "晨跑", "跑山", "间歇跑"),
        "喜欢跑步的人", "👟", 31.0, (0.45, 0.53, 0.02), (0.15, 0.35, 0.32, 0.18),
    ),
    _Category(
        "skincare", "SKN", ("水润", "清颜"),
        (("保湿精华", "精华"), ("面霜", "面霜"), ("防晒霜", "防晒"), ("洁面乳", "洗面奶"),
         ("晚霜", "晚霜"), ("维C精华", "精华"), ("爽肤水", "爽肤水"), ("眼霜", "眼霜"),
         ("清洁面膜", "面膜"), ("润唇膏", "润唇膏")),
        (("保湿效果", ("一整天都很好", "干皮也够用"), ("很差", "中午就干了")),
         ("质地", ("清爽好吸收", "很丝滑"), ("很油腻", "搓泥")),
         ("气味", ("淡淡的很好闻", "很清淡"), ("太香了", "刺鼻")),
         ("祛痘效果", ("两周就看到了", "痘痘少了很多"), ("没有效果", "反而爆痘")),
         ("对敏感肌", ("很温和不刺激", "完全不过敏"), ("有刺痛感", "泛红过敏")),
         ("妆效", ("不假白", "水光感很自然"), ("假白", "很快就出油"))),
        ("早上护肤", "化妆前", "睡前护肤", "换季的时候", "运动后"),
        "认真护肤的人", "✨", 29.0, (0.80, 0.17, 0.03), (0.14, 0.34, 0.33, 0.19),
    ),
    _Category(
        "audio", "AUD", ("声悦", "静听"),
        (("降噪耳机", "耳机"), ("无线耳机", "耳机"), ("监听耳机", "耳机"), ("开放式耳机", "耳机"),
         ("运动耳机", "耳机"), ("游戏耳麦", "耳麦"), ("便携解码器", "解码器"), ("蓝牙音箱", "音箱"),
         ("入耳式耳机", "耳机"), ("耳机放大器", "耳放")),
        (("音质", ("清晰低音很足", "细节丰富"), ("发闷", "高音刺耳")),
         ("降噪", ("地铁上很安静", "坐飞机很好用"), ("几乎没有效果", "很弱")),
         ("续航", ("一周一充", "很长"), ("几个小时就没电", "很短")),
         ("佩戴", ("戴很久也舒服", "很轻"), ("夹头", "一小时就耳朵疼")),
         ("蓝牙连接", ("很稳定", "秒连"), ("经常断", "看视频有延迟")),
         ("麦克风", ("通话清楚", "开会很好用"), ("声音发闷", "杂音很大"))),
        ("通勤路上", "健身的时候", "坐飞机", "打游戏", "在家办公"),
        "在意音质的人", "🎧", 26.0, (0.35, 0.62, 0.03), (0.22, 0.38, 0.26, 0.14),
    ),
)
_EN_SHORT = {
    "good": ("Great!", "Love it!", "Perfect {noun}.", "Great {noun} {emoji}", "Does the job.", "10/10",
             "Excellent.", "Very happy!", "Awesome {noun}!!", "Five stars."),
    "mid": ("OK.", "Fine.", "It's alright.", "Average {noun}.", "Not bad, not great.", "Meh, it works."),
    "bad": ("Terrible.", "Broke fast.", "Meh.", "Waste of money 👎", "Do not buy.", "Very disappointed."),
}
_EN_OPEN = {
    "good": ("Love this {noun}!", "Best {noun} I have owned.", "Exactly what I needed.", "Wow.",
             "This {noun} delivers.", "So glad I picked this one."),
    "mid": ("It's okay.", "Decent for the price.", "Mixed feelings about this {noun}.",
            "Bought it {context}; it is fine."),
    "bad": ("Not impressed.", "Returned it after a week.", "Save your money.",
            "I really wanted to like this {noun}."),
}
_EN_BODY = {
    "good": ("The {aspect} is {good}.", "Really happy with the {aspect}: {good}.",
             "I use it {context} and the {aspect} is {good}.", "What sold me is the {aspect}, {good}.",
             "Honestly the {aspect} is {good}."),
    "mid": ("The {aspect} is {good}, but the {aspect2} is {bad2}.", "The {aspect} could be better: {bad}.",
            "I use it {context}; the {aspect} is {good} and the {aspect2} is {bad2}."),
    "bad": ("The {aspect} is {bad}.", "Disappointed: the {aspect} is {bad}.",
            "Used it {context} and the {aspect} was {bad}.", "Worst part is the {aspect}, {bad}."),
}
_EN_CLOSE = {
    "good": ("Would buy again.", "Highly recommend to anyone who {fans}.", "Worth every penny.",
             "My second one from {brand}."),
    "mid": ("Might still keep it.", "Fine if you are on a budget.", "Three stars, nothing special."),
    "bad": ("Would not recommend.", "Going back to my old {noun}.", "Expected more from {brand}."),
}
_ZH_SHORT = {
    "good": ("很好！", "不错{emoji}", "好评！", "非常满意！", "太喜欢了", "五星好评"),
    "mid": ("还行。", "一般般", "凑合用", "中规中矩"),
    "bad": ("太差了", "不推荐", "退货了", "失望👎"),
}
_ZH_OPEN = {
    "good": ("这个{noun}太好用了！", "买过最好的{noun}。", "正是我想要的。", "用来{context}，非常满意。"),
    "mid": ("还可以吧。", "这个价格还算可以。", "对这个{noun}感觉一般。"),
    "bad": ("不太满意。", "用了一周就退了。", "别买了。", "本来很期待这个{noun}。"),
}
_ZH_BODY = {
    "good": ("{aspect}{good}。", "{aspect}真的{good}。", "用来{context}，{aspect}{good}。",
             "最喜欢的是{aspect}，{good}。"),
    "mid": ("{aspect}{good}，但是{aspect2}{bad2}。", "{aspect}{bad}，还有待改进。"),
    "bad": ("{aspect}{bad}。", "很失望，{aspect}{bad}。", "用来{context}，{aspect}{bad}。"),
}
_ZH_CLOSE = {
    "good": ("会回购的。", "推荐给{fans}。", "物有所值。", "{brand}的东西一直不错。"),
    "mid": ("凑合用吧。", "预算有限可以考虑。"),
    "bad": ("不推荐。", "还是用回以前的{noun}。", "对{brand}很失望。"),
}
