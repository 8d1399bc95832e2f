#!/usr/bin/python3
"""Write a random-weight BERT model folder in the Hugging Face / transformers.js layout.

The folder has the files of Xenova/all-MiniLM-L6-v2 (config.json, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, vocab.txt, onnx/model.onnx, onnx/model_quantized.onnx), so tests and benchmarks run
the exact loader code that loads the real model, without network access or downloaded weights.

Shapes:
  tiny                  2 layers, hidden 32, ~4k WordPiece vocabulary: fast feature-extraction model for tests.
  minilm                all-MiniLM-L6-v2 shapes (6 layers, hidden 384, 12 heads, FFN 1536, vocab 30522, 512 positions).
  cross-encoder-tiny    tiny BertForSequenceClassification with one label (output `logits`).
  cross-encoder-minilm  ms-marco-MiniLM-L-6-v2 shapes, one label.

The weights are random (from --seed), so vectors carry lexical, not semantic, similarity.
Needs onnx and numpy: Debian's python3-onnx (run scripts/install-system-deps.sh).
Usage: /usr/bin/python3 scripts/generate-test-models.py --out DIR --shape tiny [--seed 42]
"""

import argparse
import json
import math
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:  # pragma: no cover - exercised only on machines without the packages
    sys.stderr.write(
        f"generate-test-models.py needs onnx and numpy ({error}). "
        "Run scripts/install-system-deps.sh (installs Debian's python3-onnx) and call /usr/bin/python3.\n"
    )
    sys.exit(2)

OPSET = 17  # LayerNormalization is a standard op from opset 17

SHAPES = {
    "tiny": dict(layers=2, hidden=32, heads=4, intermediate=64, vocab=4096, positions=512, labels=0),
    "minilm": dict(layers=6, hidden=384, heads=12, intermediate=1536, vocab=30522, positions=512, labels=0),
    "cross-encoder-tiny": dict(layers=2, hidden=32, heads=4, intermediate=64, vocab=4096, positions=512, labels=1),
    "cross-encoder-minilm": dict(
        layers=6, hidden=384, heads=12, intermediate=1536, vocab=30522, positions=512, labels=1
    ),
}

# Common English words (plus frequent words of scientific abstracts) so ordinary text tokenizes into whole words.
WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this from or had by not
but what some we can out other were all there when up use your how said an each she which do their time if will
way about many then them write would like so these her long make thing see him two has look more day could go come
did number sound no most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every good me give our under
name very through just form sentence great think say help low line differ turn cause much mean before move right boy
old too same tell does set three want air well also play small end put home read hand port large spell add even land
here must big high such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found answer school grow study
still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard start
might story saw far sea draw left late run don't while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter until mile river
car feet care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut
sure watch color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind question happen complete
ship area half rock order fire south problem piece told knew pass since top whole king space heard best hour better
true during hundred five remember step early hold west ground interest reach fast verb sing listen six table travel
less morning ten simple several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait
plan figure star box noun field rest correct able pound done beauty drive stood contain front teach week final gave
green oh quick develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply
nothing course stay wheel full force blue object decide surface deep moon island foot system busy test record boat
common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow
tire bring yes distant fill east paint language among grand ball yet wave drop heart am present heavy dance engine
position arm wide sail material size vary settle speak weight general ice matter circle pair include divide syllable
felt perhaps pick sudden count square reason length represent art subject region energy hunt probable bed brother egg
ride cell believe fraction forest sit race window store summer train sleep prove lone leg exercise wall catch mount
wish sky board joy winter sat written wild instrument kept glass grass cow job edge sign visit past soft fun bright
gas weather month million bear finish happy hope flower clothe strange gone jump baby eight village meet root buy
raise solve metal whether push seven paragraph third shall held hair describe cook floor either result burn hill safe
cat century consider type law bit coast copy phrase silent tall sand soil roll temperature finger industry value fight
lie beat excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring observe
child straight consonant nation dictionary milk speed method organ pay age section dress cloud surprise quiet stone
tiny climb cool design poor lot experiment bottom key iron single stick flat twenty skin smile crease hole trade melody
trip office receive row mouth exact symbol die least trouble shout except wrote seed tone join suggest clean break lady
yard rise bad blow oil blood touch grew cent mix team wire cost lost brown wear garden equal sent choose fell fit flow
fair bank collect save control decimal gentle woman captain practice separate difficult doctor please protect noon
whose locate ring character insect caught period indicate radio spoke atom human history effect electric expect crop
modern element hit student corner party supply bone rail imagine provide agree thus capital won't chair danger fruit
rich thick soldier process operate guess necessary sharp wing create neighbor wash bat rather crowd corn compare poem
string bell depend meat rub tube famous dollar stream fear sight thin triangle planet hurry chief colony clock mine tie
enter major fresh search send yellow gun allow print dead spot desert suit current lift rose continue block chart hat
sell success company subtract event particular deal swim term opposite wife shoe shoulder spread arrange camp invent
cotton born determine quart nine truck noise level chance gather shop stretch throw shine property column molecule
select wrong gray repeat require broad prepare salt nose plural anger claim continent oxygen sugar death pretty skill
women season solution magnet silver thank branch match suffix especially fig afraid huge sister steel discuss forward
similar guide experience score apple bought led pitch coat mass card band rope slip win dream evening condition feed
tool total basic smell valley nor double seat arrive master track parent shore division sheet substance favor connect
post spend chord fat glad original share station dad bread charge proper bar offer segment slave duck instant market
degree populate chick dear enemy reply drink occur support speech nature range steam motion path liquid log meant
quotient teeth shell neck data database index query document documents search retrieval answer answers model models
embedding embeddings vector vectors token tokens text texts file files chunk chunks store local knowledge base server
client network user users service services request response error errors value values function functions library
software computer code program programs version update install configure configuration option options default memory
disk cache page pages report reports information available support supported include includes including provides
using used uses based across within without however therefore although because whether between among through during
patients patient clinical study studies trial trials treatment treatments disease diseases cancer tumor tumors cells
cellular protein proteins gene genes genetic expression expressed mutation mutations dna rna mrna receptor receptors
signaling pathway pathways activity activation inhibition inhibitor inhibitors levels level increased decreased
increase decrease higher lower risk risks associated association analysis analyses results significant significantly
compared control controls mice mouse human humans tissue tissues blood plasma serum brain heart liver kidney lung
immune infection infections virus viral bacteria bacterial vaccine vaccines drug drugs dose doses therapy therapies
response responses effect effects role roles mechanism mechanisms function growth factor factors model population
populations age years year women men children adults cohort data evidence trial randomized outcome outcomes mortality
incidence prevalence rate rates ratio ratios odds hazard confidence interval intervals cases case group groups
development developed identify identified show showed shown demonstrate demonstrated suggest suggests suggested
report reported observed found findings finding indicate indicates indicated associated related involved required
induced reduced reduces reduce induces increase increases enhanced regulated regulation regulates regulatory binding
bind binds complex structure structures specific specifically normal abnormal chronic acute severe primary secondary
high low early late long short term type types stage stages response cell cells stem tumour therapy surgery hospital
health care medical medicine public national international community social economic income education school
policy policies cost costs quality life system systems method methods approach approaches measure measured
measurement measurements sample samples sequence sequencing genome genomic molecular biological biology chemical
physical mental depression anxiety stress obesity diabetes insulin glucose metabolism metabolic fat weight body mass
index diet dietary exercise smoking alcohol pregnancy pregnant birth infant infants maternal mortality heart cardiac
cardiovascular coronary artery arterial pressure hypertension stroke vascular blood flow oxygen acid acids amino
enzyme enzymes kinase phosphorylation transcription transcriptional translation nuclear membrane mitochondrial
mitochondria oxidative damage repair apoptosis death survival proliferation differentiation migration invasion
metastasis inflammation inflammatory cytokine cytokines antibody antibodies antigen antigens lymphocytes macrophages
neurons neuronal neural cortex cognitive memory learning behavior behaviour sleep pain age aging older elderly
research researcher researchers participant participants regular regularly aged minute minutes walked walking
vaccination vaccinated lower lowers lowered higher raises raised reduction reductions improvement improved improve
trial randomised placebo baseline follow week weeks months daily annual annually previous previously recent recently
current currently overall total median mean average standard deviation error estimate estimated estimates adjusted
difference differences change changes changed effective effectiveness efficacy safety adverse events event benefit
benefits harm harms evidence review systematic meta analysis prospective retrospective observational experimental
laboratory clinic hospitalised admission admissions emergency department primary patients survival survived died
deaths death mortality morbidity morbid symptom symptoms sign signs diagnosis diagnosed diagnostic screening test
tests tested testing positive negative sensitivity specificity accuracy predict predicted prediction predictive
marker markers biomarker biomarkers target targets targeted targeting novel potential potentially important
importance key critical essential major minor large larger largest small smaller smallest significant similar
different distinct various several multiple single both either neither each every whereas while whereby thereby
furthermore moreover additionally finally conclusion conclusions conclude concluded background objective objectives
aim aims purpose design setting methods main measures results limitations interpretation funding
""".split()

AFFIXES = """
##s ##es ##ed ##ing ##ly ##er ##ers ##est ##ion ##ions ##tion ##tions ##ation ##ations ##ment ##ments ##ness ##ity
##ities ##al ##ally ##ic ##ical ##ive ##ous ##ful ##less ##able ##ible ##ize ##ized ##izes ##ise ##ised ##ism ##ist
##ists ##ia ##ias ##in ##ins ##ine ##ase ##ases ##ide ##ides ##ate ##ates ##ated ##ating ##ant ##ants ##ent ##ents
##ence ##ance ##y ##ies ##ary ##ory ##ery ##ogy ##ology ##ological ##osis ##itis ##emia ##oma ##omas ##cyte ##cytes
##gen ##genic ##genesis ##ome ##omic ##omics ##philic ##phobic ##pathy ##scopy ##tomy ##graphy ##meter ##metry
##'s ##n't un re pre anti non inter intra trans sub super over under out dis mis co bio micro macro multi poly
""".split()

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Letters by English frequency: generated filler pieces use the frequent ones first.
LETTERS_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz"
SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103


def build_vocab(size):
    """WordPiece vocabulary laid out like BERT's: specials, characters, ## characters, words, then pieces."""
    punctuation = [chr(c) for c in range(33, 127) if not chr(c).isalnum() and not chr(c).isupper()]
    characters = punctuation + list("0123456789") + list(LETTERS) + list("àáâäçèéêëíîïñóôöúûüßæøåœ°±×÷µαβγδεκλμπστω")
    words = [w for w in WORDS if "'" not in w]
    pieces = []
    pieces += characters
    pieces += ["##" + c for c in characters]
    pieces += words
    pieces += AFFIXES
    pieces += [str(n) for n in range(10, 100)] + ["##" + str(n) for n in range(10, 100)]
    pieces += [a + b for a in LETTERS for b in LETTERS]
    pieces += ["##" + a + b for a in LETTERS for b in LETTERS]
    # Three-letter pieces, frequent letters first, so unknown words split into a few pieces as real WordPiece does.
    for a in LETTERS_BY_FREQUENCY:
        for b in LETTERS_BY_FREQUENCY:
            for c in LETTERS_BY_FREQUENCY:
                pieces.append("##" + a + b + c)
                pieces.append(a + b + c)
    vocab = list(SPECIALS)
    seen = set(vocab)
    for piece in pieces:
        if len(vocab) >= size:
            break
        if piece not in seen:
            seen.add(piece)
            vocab.append(piece)
    filler = 0
    while len(vocab) < size:  # only reached if a shape asks for more than the generated pieces
        vocab.append(f"[unused{99 + filler}]")
        filler += 1
    return vocab


def tokenizer_json(vocab, max_length):
    added = [
        dict(id=i, content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
        for i, t in ((PAD_ID, "[PAD]"), (UNK_ID, "[UNK]"), (CLS_ID, "[CLS]"), (SEP_ID, "[SEP]"), (MASK_ID, "[MASK]"))
    ]

    def special(token, type_id=0):
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def sequence(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}

    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), sequence("A", 0), special("[SEP]")],
            "pair": [special("[CLS]"), sequence("A", 0), special("[SEP]"), sequence("B", 1), special("[SEP]", 1)],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [CLS_ID], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [SEP_ID], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {token: i for i, token in enumerate(vocab)},
        },
    }


class GraphBuilder:
    """Collects nodes and initialisers; `fp32` or weight-quantized (`q8`) linear layers."""

    def __init__(self, quantized):
        self.quantized = quantized
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, name, array):
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, prefix=None, **attrs):
        output = self.name(prefix or op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def linear(self, x, weight, bias, name):
        """x @ weight + bias. Quantized: dynamic uint8 activations × int8 per-column weights (onnxruntime's q8)."""
        bias_name = self.const(f"{name}.bias", bias)
        if not self.quantized:
            return self.op("Add", [self.op("MatMul", [x, self.const(f"{name}.weight", weight)]), bias_name])
        scale = np.maximum(np.abs(weight).max(axis=0), 1e-8) / 127.0
        q = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
        w_q = self.const(f"{name}.weight_quantized", q)
        w_zero = self.const(f"{name}.weight_zero_point", np.zeros(weight.shape[1], dtype=np.int8))
        w_scale = self.const(f"{name}.weight_scale", scale.astype(np.float32))
        x_q = self.name("x_quantized")
        x_scale = self.name("x_scale")
        x_zero = self.name("x_zero_point")
        self.nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [x_q, x_scale, x_zero], name=x_q))
        product = self.op("MatMulInteger", [x_q, w_q, x_zero, w_zero])
        as_float = self.op("Cast", [product], to=TensorProto.FLOAT)
        combined_scale = self.op("Mul", [x_scale, w_scale])
        return self.op("Add", [self.op("Mul", [as_float, combined_scale]), bias_name])

    def embedding(self, ids, table, name):
        if not self.quantized:
            return self.op("Gather", [self.const(name, table), ids])
        scale = max(float(np.abs(table).max()), 1e-8) / 127.0
        q = np.clip(np.round(table / scale), -127, 127).astype(np.int8)
        gathered = self.op("Gather", [self.const(f"{name}_quantized", q), ids])
        scale_name = self.const(f"{name}_scale", np.array(scale, dtype=np.float32))
        zero_name = self.const(f"{name}_zero_point", np.array(0, dtype=np.int8))
        return self.op("DequantizeLinear", [gathered, scale_name, zero_name])

    def layer_norm(self, x, gamma, beta, name, eps):
        return self.op(
            "LayerNormalization",
            [x, self.const(f"{name}.weight", gamma), self.const(f"{name}.bias", beta)],
            axis=-1,
            epsilon=eps,
        )


def random_weights(shape, seed):
    """Weights drawn once per seed, shared by the fp32 and q8 graphs so both compute the same function."""
    rng = np.random.default_rng(seed)
    h, inter = shape["hidden"], shape["intermediate"]

    def dense(fan_in, fan_out):
        # 1/sqrt(fan_in) keeps activations O(1) through the residual stream, so every layer matters.
        return (rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32)

    def small(n):
        return (rng.standard_normal(n) * 0.02).astype(np.float32)

    weights = {
        "word": rng.standard_normal((shape["vocab"], h)).astype(np.float32),
        "position": (rng.standard_normal((shape["positions"], h)) * 0.1).astype(np.float32),
        "token_type": (rng.standard_normal((2, h)) * 0.1).astype(np.float32),
        "layers": [],
    }
    for _ in range(shape["layers"]):
        weights["layers"].append(
            {
                "q": (dense(h, h), small(h)),
                "k": (dense(h, h), small(h)),
                "v": (dense(h, h), small(h)),
                "o": (dense(h, h), small(h)),
                "ln1": (1 + small(h), small(h)),
                "up": (dense(h, inter), small(inter)),
                "down": (dense(inter, h), small(h)),
                "ln2": (1 + small(h), small(h)),
            }
        )
    weights["pooler"] = (dense(h, h), small(h))
    weights["classifier"] = (dense(h, max(shape["labels"], 1)), small(max(shape["labels"], 1)))
    return weights


def build_graph(shape, weights, quantized):
    g = GraphBuilder(quantized)
    h, heads = shape["hidden"], shape["heads"]
    head_dim = h // heads
    eps = 1e-12
    batch_seq = ["batch_size", "sequence_length"]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, batch_seq)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]

    # Embeddings: word + position (0..seq-1) + token type, then LayerNorm.
    sequence_length = g.op(
        "Gather", [g.op("Shape", ["input_ids"]), g.const("one_index", np.array(1, dtype=np.int64))], axis=0
    )
    positions = g.op(
        "Range",
        [g.const("zero_i64", np.array(0, dtype=np.int64)), sequence_length, g.const("one_i64", np.array(1, np.int64))],
    )
    words = g.embedding("input_ids", weights["word"], "embeddings.word_embeddings.weight")
    position_vectors = g.op("Gather", [g.const("embeddings.position_embeddings.weight", weights["position"]), positions])
    type_vectors = g.op("Gather", [g.const("embeddings.token_type_embeddings.weight", weights["token_type"]), "token_type_ids"])
    hidden = g.op("Add", [g.op("Add", [words, position_vectors]), type_vectors])
    hidden = g.layer_norm(hidden, np.ones(h, np.float32), np.zeros(h, np.float32), "embeddings.LayerNorm", eps)

    # Additive attention mask: 0 where attended, -1e9 on padding; shape [batch, 1, 1, seq].
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", [mask, g.const("mask_axes", np.array([1, 2], dtype=np.int64))])
    mask = g.op("Mul", [g.op("Sub", [g.const("one_f32", np.array(1.0, np.float32)), mask]), g.const("neg_inf", np.array(-1e9, np.float32))])

    split_heads = g.const("split_heads_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = g.const("merge_heads_shape", np.array([0, 0, h], dtype=np.int64))
    inv_sqrt = g.const("attention_scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt_half = g.const("sqrt_half", np.array(1.0 / math.sqrt(2.0), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    one = "one_f32"

    for i, layer in enumerate(weights["layers"]):
        prefix = f"encoder.layer.{i}"

        def heads_of(x):
            return g.op("Transpose", [g.op("Reshape", [x, split_heads])], perm=[0, 2, 1, 3])

        q = heads_of(g.linear(hidden, *layer["q"], f"{prefix}.attention.self.query"))
        k = heads_of(g.linear(hidden, *layer["k"], f"{prefix}.attention.self.key"))
        v = heads_of(g.linear(hidden, *layer["v"], f"{prefix}.attention.self.value"))
        scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = g.op("Add", [g.op("Mul", [scores, inv_sqrt]), mask])
        probs = g.op("Softmax", [scores], axis=-1)
        context = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = g.op("Reshape", [context, merge_heads])
        attention = g.linear(context, *layer["o"], f"{prefix}.attention.output.dense")
        hidden = g.layer_norm(g.op("Add", [attention, hidden]), *layer["ln1"], f"{prefix}.attention.output.LayerNorm", eps)

        up = g.linear(hidden, *layer["up"], f"{prefix}.intermediate.dense")
        # Exact GELU as in BERT: 0.5 * x * (1 + erf(x / sqrt(2))).
        gelu = g.op("Mul", [g.op("Mul", [up, half]), g.op("Add", [g.op("Erf", [g.op("Mul", [up, sqrt_half])]), one])])
        down = g.linear(gelu, *layer["down"], f"{prefix}.output.dense")
        hidden = g.layer_norm(g.op("Add", [down, hidden]), *layer["ln2"], f"{prefix}.output.LayerNorm", eps)

    if shape["labels"] == 0:
        g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="last_hidden_state"))
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, batch_seq + [h])]
    else:
        first_token = g.op("Gather", [hidden, g.const("cls_index", np.array(0, dtype=np.int64))], axis=1)
        pooled = g.op("Tanh", [g.linear(first_token, *weights["pooler"], "pooler.dense")])
        logits = g.linear(pooled, *weights["classifier"], "classifier")
        g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits"))
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", shape["labels"]])]

    graph = helper.make_graph(g.nodes, "bert", inputs, outputs, g.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="localkb generate-test-models.py"
    )
    model.ir_version = 8  # readable by onnxruntime 1.14+
    onnx.checker.check_model(model)
    return model


def config_json(shape_name, shape, seed):
    classifier = shape["labels"] > 0
    config = {
        "_name_or_path": f"localkb-generated/{shape_name}",
        "architectures": ["BertForSequenceClassification" if classifier else "BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": shape["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": shape["intermediate"],
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": shape["positions"],
        "model_type": "bert",
        "num_attention_heads": shape["heads"],
        "num_hidden_layers": shape["layers"],
        "pad_token_id": PAD_ID,
        "position_embedding_type": "absolute",
        "transformers_version": "4.29.2",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": shape["vocab"],
        "localkb_generated": {"shape": shape_name, "seed": seed, "weights": "random, for tests and benchmarks only"},
    }
    if classifier:
        config["id2label"] = {"0": "LABEL_0"}
        config["label2id"] = {"LABEL_0": 0}
    return config


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="model folder to write (created if missing)")
    parser.add_argument("--shape", required=True, choices=sorted(SHAPES))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    shape = SHAPES[args.shape]
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)

    vocab = build_vocab(shape["vocab"])
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    model_max_length = shape["positions"]
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab, model_max_length))
    special_tokens = {
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
    }
    write_json(os.path.join(out, "special_tokens_map.json"), special_tokens)
    write_json(
        os.path.join(out, "tokenizer_config.json"),
        {
            "clean_up_tokenization_spaces": True,
            "do_basic_tokenize": True,
            "do_lower_case": True,
            "model_max_length": model_max_length,
            "never_split": None,
            "strip_accents": None,
            "tokenize_chinese_chars": True,
            "tokenizer_class": "BertTokenizer",
            **special_tokens,
        },
    )
    write_json(os.path.join(out, "config.json"), config_json(args.shape, shape, args.seed))
    if shape["labels"] == 0:
        # sentence-transformers truncates all-MiniLM-L6-v2 input at 256 word pieces (special tokens included).
        write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": 256, "do_lower_case": False})

    weights = random_weights(shape, args.seed)
    # Write to a temporary name first so an interrupted run never leaves a truncated model behind.
    for quantized, file_name in ((False, "model.onnx"), (True, "model_quantized.onnx")):
        path = os.path.join(out, "onnx", file_name)
        onnx.save_model(build_graph(shape, weights, quantized), path + ".tmp")
        os.replace(path + ".tmp", path)
    print(json.dumps({"out": out, "shape": args.shape, "seed": args.seed, "vocab": len(vocab)}))


if __name__ == "__main__":
    main()
