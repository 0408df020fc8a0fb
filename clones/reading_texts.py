"""Texts to read aloud when recording a clip in the browser, one per language we can write correctly.

The service wants 15 to 60 seconds of speech. Each text is the same short, calm story (a morning walk), long
enough to read in about 40 seconds at an easy pace, so that a reader who pauses still stays under the
recorder's 60-second stop, and one who hurries still gives well over 15 seconds. It has everyday sounds of the
language and no names, numbers or abbreviations that people read differently.

A language missing here is offered the English text (FALLBACK_LANGUAGE) with a note that any text in the
voice's own language will do: as with clones/languages.py's sample sentences, none rather than a doubtful one.
Chinese takes full-width punctuation; Cantonese is written as it is spoken, in Traditional characters.
"""

from __future__ import annotations

import json

FALLBACK_LANGUAGE = "English"

READING_TEXTS: dict[str, str] = {
    "English": (
        "Every morning I take the same short walk to the river. The air is cool, the streets are still "
        "quiet, and the bakery on the corner is just opening its doors. I like to watch the light change "
        "on the water while the city slowly wakes up. Some days I meet a neighbour with her old brown "
        "dog; other days I see no one at all. When I get home, I make a cup of tea, open the window and "
        "read for a while before work. It is a simple habit, but it helps me start the day calmly and "
        "with a clear head."
    ),
    "Chinese": (
        "每天早上，我都会沿着同一条小路走到河边。空气很清新，街道还很安静，街角的面包店刚刚开门。我喜欢看"
        "着阳光在水面上慢慢变化，城市也一点一点醒过来。有时候我会遇到一位邻居，她总是牵着一只棕色的老狗；"
        "有时候一个人也看不到。回到家以后，我会泡一杯茶，打开窗户，在上班前读一会儿书。这是一个简单的习惯"
        "，但它让我每天都能平静、清醒地开始新的一天。"
    ),
    "Chinese,Yue": (
        "每朝早，我都會沿住同一條小路行去河邊。空氣好清新，街道仲好靜，街角嗰間麵包舖啱啱開門。我鍾意睇住"
        "陽光喺水面上慢慢變化，成個城市都一啲一啲咁醒返。有時我會撞到一位鄰居，佢成日拖住一隻啡色嘅老狗；"
        "有時一個人都見唔到。返到屋企之後，我會沖一杯茶，打開窗，喺返工之前睇一陣書。呢個係一個好簡單嘅習"
        "慣，但係佢令我每日都可以平靜、清醒噉開始新嘅一日。"
    ),
    "Japanese": (
        "毎朝、私は同じ短い道を歩いて川まで行きます。空気はひんやりとしていて、通りはまだ静かで、角のパン"
        "屋がちょうど店を開けるところです。町がゆっくりと目を覚ます間、水面の光が変わっていくのを眺めるの"
        "が好きです。茶色い老犬を連れた近所の人に会う日もあれば、誰にも会わない日もあります。家に帰ると、"
        "お茶をいれて窓を開け、仕事の前に少し本を読みます。簡単な習慣ですが、おかげで毎日、落ち着いたすっ"
        "きりした気持ちで一日を始められます。"
    ),
    "Korean": (
        "매일 아침 저는 강까지 같은 짧은 길을 걷습니다. 공기는 시원하고 거리는 아직 조용하며, "
        "모퉁이의 빵집은 막 문을 열고 있습니다. 도시가 천천히 깨어나는 동안 물 위에서 빛이 "
        "변하는 모습을 보는 것을 좋아합니다. 어떤 날은 늙은 갈색 개를 데리고 나온 이웃을 "
        "만나고, 어떤 날은 아무도 만나지 않습니다. 집에 돌아오면 차를 한 잔 준비하고 창문을 연 "
        "뒤, 일을 시작하기 전에 잠시 책을 읽습니다. 단순한 습관이지만, 덕분에 하루를 차분하고 "
        "맑은 정신으로 시작할 수 있습니다."
    ),
    "French": (
        "Chaque matin, je fais la même petite promenade jusqu'à la rivière. L'air est frais, les rues "
        "sont encore calmes et la boulangerie du coin ouvre à peine ses portes. J'aime regarder la "
        "lumière changer sur l'eau pendant que la ville se réveille lentement. Certains jours, je croise "
        "une voisine avec son vieux chien brun ; d'autres jours, je ne vois personne. En rentrant, je me "
        "prépare une tasse de thé, j'ouvre la fenêtre et je lis un moment avant le travail. C'est une "
        "habitude toute simple, mais elle m'aide à commencer la journée avec calme et l'esprit clair."
    ),
    "German": (
        "Jeden Morgen mache ich denselben kurzen Spaziergang zum Fluss. Die Luft ist kühl, die Straßen "
        "sind noch still, und die Bäckerei an der Ecke öffnet gerade ihre Türen. Ich sehe gern zu, wie "
        "sich das Licht auf dem Wasser verändert, während die Stadt langsam erwacht. An manchen Tagen "
        "treffe ich eine Nachbarin mit ihrem alten braunen Hund, an anderen Tagen sehe ich niemanden. Zu "
        "Hause koche ich mir eine Tasse Tee, öffne das Fenster und lese eine Weile, bevor die Arbeit "
        "beginnt. Es ist eine einfache Gewohnheit, aber sie hilft mir, ruhig und mit klarem Kopf in den "
        "Tag zu starten."
    ),
    "Spanish": (
        "Cada mañana doy el mismo paseo corto hasta el río. El aire es fresco, las calles todavía están "
        "tranquilas y la panadería de la esquina apenas abre sus puertas. Me gusta mirar cómo cambia la "
        "luz sobre el agua mientras la ciudad despierta poco a poco. Algunos días me encuentro con una "
        "vecina y su viejo perro marrón; otros días no veo a nadie. Al volver a casa, me preparo una taza "
        "de té, abro la ventana y leo un rato antes de ir a trabajar. Es una costumbre sencilla, pero me "
        "ayuda a empezar el día con calma y con la mente despejada."
    ),
    "Italian": (
        "Ogni mattina faccio la stessa breve passeggiata fino al fiume. L'aria è fresca, le strade sono "
        "ancora tranquille e il forno all'angolo sta appena aprendo. Mi piace guardare la luce che cambia "
        "sull'acqua mentre la città si sveglia lentamente. Certi giorni incontro una vicina con il suo "
        "vecchio cane marrone; altri giorni non vedo nessuno. Quando torno a casa, mi preparo una tazza "
        "di tè, apro la finestra e leggo un po' prima di andare al lavoro. È un'abitudine semplice, ma mi "
        "aiuta a cominciare la giornata con calma e con la mente lucida."
    ),
    "Portuguese": (
        "Todas as manhãs faço a mesma caminhada curta até o rio. O ar é fresco, as ruas ainda estão "
        "tranquilas e a padaria da esquina acaba de abrir as portas. Gosto de ver a luz mudar sobre a "
        "água enquanto a cidade acorda devagar. Em alguns dias encontro uma vizinha com seu velho "
        "cachorro marrom; em outros, não vejo ninguém. Quando volto para casa, preparo uma xícara de chá, "
        "abro a janela e leio um pouco antes do trabalho. É um hábito simples, mas me ajuda a começar o "
        "dia com calma e com a cabeça limpa."
    ),
    "Dutch": (
        "Elke ochtend maak ik dezelfde korte wandeling naar de rivier. De lucht is koel, de straten zijn "
        "nog stil en de bakker op de hoek doet net zijn deur open. Ik kijk graag hoe het licht op het "
        "water verandert terwijl de stad langzaam wakker wordt. Sommige dagen kom ik een buurvrouw tegen "
        "met haar oude bruine hond; andere dagen zie ik helemaal niemand. Thuis zet ik een kopje thee, "
        "doe ik het raam open en lees ik een tijdje voordat ik aan het werk ga. Het is een eenvoudige "
        "gewoonte, maar ze helpt me om de dag rustig en met een helder hoofd te beginnen."
    ),
    "Russian": (
        "Каждое утро я совершаю одну и ту же короткую прогулку до реки. Воздух прохладный, улицы ещё "
        "тихие, а пекарня на углу только открывает свои двери. Мне нравится смотреть, как меняется свет "
        "на воде, пока город медленно просыпается. Иногда я встречаю соседку с её старой коричневой "
        "собакой, а иногда не вижу никого. Вернувшись домой, я завариваю чашку чая, открываю окно и "
        "немного читаю перед работой. Это простая привычка, но она помогает мне начинать день спокойно и "
        "с ясной головой."
    ),
    "Ukrainian": (
        "Щоранку я йду на ту саму коротку прогулянку до річки. Повітря прохолодне, вулиці ще тихі, а "
        "пекарня на розі щойно відчиняє двері. Мені подобається дивитися, як змінюється світло на воді, "
        "поки місто повільно прокидається. Іноді я зустрічаю сусідку з її старим коричневим собакою, а "
        "іноді не бачу нікого. Повернувшись додому, я заварюю чашку чаю, відчиняю вікно і трохи читаю "
        "перед роботою. Це проста звичка, але вона допомагає мені починати день спокійно і з ясною "
        "головою."
    ),
    "Polish": (
        "Każdego ranka chodzę na ten sam krótki spacer nad rzekę. Powietrze jest chłodne, ulice są "
        "jeszcze ciche, a piekarnia na rogu właśnie otwiera drzwi. Lubię patrzeć, jak światło zmienia się "
        "na wodzie, kiedy miasto powoli się budzi. Czasem spotykam sąsiadkę z jej starym brązowym psem, a "
        "czasem nie widzę nikogo. Po powrocie do domu robię sobie filiżankę herbaty, otwieram okno i "
        "czytam chwilę przed pracą. To prosty zwyczaj, ale pomaga mi zaczynać dzień spokojnie i z jasną "
        "głową."
    ),
    "Swedish": (
        "Varje morgon tar jag samma korta promenad ner till floden. Luften är sval, gatorna är "
        "fortfarande tysta och bageriet på hörnet har precis öppnat. Jag tycker om att se hur ljuset "
        "förändras på vattnet medan staden sakta vaknar. Vissa dagar möter jag en granne och hennes gamla "
        "bruna hund; andra dagar ser jag ingen alls. När jag kommer hem gör jag en kopp te, öppnar "
        "fönstret och läser en stund innan jobbet. Det är en enkel vana, men den hjälper mig att börja "
        "dagen lugnt och med ett klart huvud."
    ),
    "Danish": (
        "Hver morgen går jeg den samme korte tur ned til åen. Luften er kølig, gaderne er stadig stille, "
        "og bageren på hjørnet er lige ved at åbne. Jeg kan godt lide at se lyset skifte på vandet, mens "
        "byen langsomt vågner. Nogle dage møder jeg en nabo og hendes gamle brune hund; andre dage ser "
        "jeg slet ingen. Når jeg kommer hjem, laver jeg en kop te, åbner vinduet og læser lidt, før jeg "
        "skal på arbejde. Det er en enkel vane, men den hjælper mig med at begynde dagen roligt og med et "
        "klart hoved."
    ),
    "Indonesian": (
        "Setiap pagi saya berjalan kaki di jalan yang sama menuju sungai. Udaranya sejuk, jalanan masih "
        "sepi, dan toko roti di sudut jalan baru saja buka. Saya suka melihat cahaya berubah di atas air "
        "sementara kota perlahan-lahan terbangun. Kadang-kadang saya bertemu tetangga dengan anjing "
        "cokelatnya yang sudah tua; di hari lain saya tidak bertemu siapa pun. Setelah sampai di rumah, "
        "saya membuat secangkir teh, membuka jendela, dan membaca sebentar sebelum bekerja. Ini kebiasaan "
        "yang sederhana, tetapi membantu saya memulai hari dengan tenang dan pikiran yang jernih."
    ),
    "Catalan": (
        "Cada matí faig el mateix passeig curt fins al riu. L'aire és fresc, els carrers encara són "
        "tranquils i el forn de la cantonada just obre les portes. M'agrada mirar com canvia la llum "
        "sobre l'aigua mentre la ciutat es desperta a poc a poc. Alguns dies em trobo una veïna amb el "
        "seu gos vell i marró; altres dies no veig ningú. Quan torno a casa, em preparo una tassa de te, "
        "obro la finestra i llegeixo una estona abans de treballar. És un costum senzill, però m'ajuda a "
        "començar el dia amb calma i amb el cap clar."
    ),
}


# The BCP 47 tag of each text, for its lang attribute: screen readers pick the voice by it, and browsers the
# glyphs (Chinese text tagged as Japanese would be drawn with Japanese shapes).
LANGUAGE_TAGS: dict[str, str] = {
    "English": "en",
    "Chinese": "zh-Hans",
    "Chinese,Yue": "yue-Hant",
    "Japanese": "ja",
    "Korean": "ko",
    "French": "fr",
    "German": "de",
    "Spanish": "es",
    "Italian": "it",
    "Portuguese": "pt",
    "Dutch": "nl",
    "Russian": "ru",
    "Ukrainian": "uk",
    "Polish": "pl",
    "Swedish": "sv",
    "Danish": "da",
    "Indonesian": "id",
    "Catalan": "ca",
}


def text_for(language: str) -> tuple[str, str]:
    """The text to read for a language name, and the language it is written in (English when we have none)."""
    if language in READING_TEXTS:
        return READING_TEXTS[language], language
    return READING_TEXTS[FALLBACK_LANGUAGE], FALLBACK_LANGUAGE


def as_data() -> dict[str, dict[str, str]]:
    """Each language that has its own text: {"Chinese": {"text": …, "lang": "zh-Hans"}, …}.

    The page offers data["English"] for every other language, and says so.
    """
    return {
        language: {"text": text, "lang": LANGUAGE_TAGS[language]} for language, text in READING_TEXTS.items()
    }


def as_json() -> str:
    """as_data() as JSON for a data- attribute, characters kept (\\u escapes would weigh six times more)."""
    return json.dumps(as_data(), ensure_ascii=False, separators=(",", ":"))
