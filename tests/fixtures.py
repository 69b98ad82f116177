"""Labelled comment fixtures written by the tests: users from clearly different groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS: dict[str, dict[str, list[str]]] = {
    "coffee": {
        "subject": ["the espresso", "this dark roast", "the burr grinder", "my pour-over kettle", "the cold brew"],
        "verb": ["tastes", "smells", "brews", "comes out"],
        "detail": ["rich and chocolatey with a thick crema", "bitter and burnt, the beans were stale",
                   "smooth, low acidity, perfect with oat milk", "fruity, like a light Ethiopian roast"],
    },
    "running": {
        "subject": ["these trail shoes", "the running shorts", "my marathon insoles", "the sports watch",
                    "this hydration vest"],
        "verb": ["held up", "felt", "performed", "worked"],
        "detail": ["great on a 20 km long run, no blisters", "too tight around the toe box after 5 miles",
                   "light and breathable on hot summer runs", "gave solid grip on muddy trails and hills"],
    },
    "gardening": {
        "subject": ["the tomato seeds", "this pruning shear", "the raised garden bed", "the compost bin",
                    "my watering hose"],
        "verb": ["grew", "worked", "did", "held up"],
        "detail": ["great, the seedlings sprouted in a week", "fine in clay soil with some mulch",
                   "well, the roses and herbs love it", "poorly, the leaves yellowed and aphids came"],
    },
    "gaming": {
        "subject": ["this video game", "the controller", "the gaming headset", "the console",
                    "this multiplayer shooter"],
        "verb": ["plays", "ran", "feels", "worked"],
        "detail": ["smooth at 60 fps with no lag online", "badly, the boss fights and servers crash",
                   "amazing, the open world quests are huge", "fine but the loot boxes are pay to win"],
    },
}


def labelled_comments(users_per_group: int = 15, comments_per_user: int = 3, seed: int = 0) -> pd.DataFrame:
    """One row per comment: user_id, text, true_group. Each user writes only about its group."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, parts in GROUPS.items():
        for u in range(users_per_group):
            user = f"{group[:3]}-{u:02d}"
            for _ in range(comments_per_user):
                text = (
                    f"{rng.choice(parts['subject']).capitalize()} {rng.choice(parts['verb'])} "
                    f"{rng.choice(parts['detail'])}."
                )
                rows.append({"user_id": user, "text": text, "true_group": group})
    return pd.DataFrame(rows)


GROUPS_ZH: dict[str, dict[str, list[str]]] = {
    "coffee": {
        "subject": ["这款意式浓缩", "这包深烘咖啡豆", "这个磨豆机", "手冲咖啡壶", "冷萃咖啡"],
        "verb": ["喝起来", "闻起来", "冲出来", "做出来"],
        "detail": ["香浓顺滑，油脂很厚", "有点苦，豆子不新鲜", "酸度低，配燕麦奶刚好",
                   "果香明显，像浅烘的埃塞俄比亚豆"],
    },
    "running": {
        "subject": ["这双越野跑鞋", "这条跑步短裤", "马拉松鞋垫", "这块运动手表", "这个跑步水袋背心"],
        "verb": ["跑起来", "穿着", "用起来", "训练时"],
        "detail": ["二十公里长跑不磨脚", "脚趾太挤，跑五公里就疼", "夏天跑步轻便透气", "泥地和山路抓地力很好"],
    },
    "skincare": {
        "subject": ["这瓶保湿面霜", "这款防晒霜", "这支精华液", "这个洗面奶", "这片面膜"],
        "verb": ["用起来", "涂上去", "敷完", "洗完脸"],
        "detail": ["皮肤很水润不油腻", "有点刺激，脸上起了痘痘", "吸收很快，毛孔变细了", "美白效果明显，肤色均匀"],
    },
    "gaming": {
        "subject": ["这款游戏", "这个游戏手柄", "这副电竞耳机", "这台游戏主机", "这个多人射击游戏"],
        "verb": ["玩起来", "运行", "手感", "联机"],
        "detail": ["六十帧很流畅，联网不卡", "很差，打boss老是闪退", "开放世界任务超级多", "还行，但是抽卡太氪金"],
    },
}


def labelled_comments_zh(users_per_group: int = 15, comments_per_user: int = 3, seed: int = 0) -> pd.DataFrame:
    """The Chinese counterpart of :func:`labelled_comments`."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, parts in GROUPS_ZH.items():
        for u in range(users_per_group):
            for _ in range(comments_per_user):
                text = f"{rng.choice(parts['subject'])}{rng.choice(parts['verb'])}{rng.choice(parts['detail'])}。"
                rows.append({"user_id": f"{group[:3]}-{u:02d}", "text": text, "true_group": group})
    return pd.DataFrame(rows)
