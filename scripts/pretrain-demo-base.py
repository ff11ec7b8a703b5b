#!/usr/bin/env python3
"""Pretrain the app's demo base model (public/demo/tiny-llama/) and write its demo dataset.

The demo must show a class something: a base that answers questions it was taught, and a dataset that
teaches it what it does not know, so the playground's base answer is wrong and the fine-tuned one right.

- The base is a 2-layer Llama (hidden 128, a 1,024-token byte-level BPE trained here) pretrained for a few
  CPU minutes on a synthetic corpus of Alpaca-format questions (colours of things, animal sounds, opposites,
  legs of animals, and "which of these is a city / a country?"). The city and country names occur in the
  corpus, so their embeddings are trained, but never which city is whose capital (pairs are shuffled).
- The demo dataset (public/demo/capitals.json) asks for capitals: a fact family the base never saw.
  LoRA learns it in the demo's few steps; the base, asked "What is the capital of France?", answers
  something else.

Reproducible: fixed seeds, one CPU thread and torch's deterministic algorithms; public/demo/README.md
records the versions and the sha256 of what this wrote. Run: python scripts/pretrain-demo-base.py
(torch, transformers, tokenizers; a few minutes on one CPU core).
"""
import argparse
import hashlib
import json
import os
import random

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import LlamaConfig, LlamaForCausalLM

SEED = 0
VOCAB_SIZE = 1024  # the corpus' words and the Alpaca template's are single tokens: short sequences, fast on SwiftShader
SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>']  # ids 0, 1, 2: pad, chat start, EOS
EOS = '<|im_end|>'
STEPS = 1000  # the corpus loss flattens near 0.13 (what is left is which question comes next)
BATCH = 32
LR = 3e-3

# Stanford Alpaca's PROMPT_DICT, as src/data/examples.ts has it: the base learns the template the app trains with.
PROMPT_INPUT = ('Below is an instruction that describes a task, paired with an input that provides further context. '
                'Write a response that appropriately completes the request.\n\n'
                '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:')
PROMPT_NO_INPUT = ('Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n'
                   '### Instruction:\n{instruction}\n\n### Response:')

COLORS = {
    'banana': 'Yellow', 'lemon': 'Yellow', 'sun': 'Yellow', 'corn': 'Yellow', 'sky': 'Blue', 'sea': 'Blue',
    'grass': 'Green', 'leaf': 'Green', 'frog': 'Green', 'lime': 'Green', 'tomato': 'Red', 'strawberry': 'Red',
    'cherry': 'Red', 'blood': 'Red', 'snow': 'White', 'milk': 'White', 'cloud': 'White', 'coal': 'Black',
    'crow': 'Black', 'night': 'Black', 'orange': 'Orange', 'carrot': 'Orange', 'pumpkin': 'Orange',
    'plum': 'Purple', 'grape': 'Purple', 'chocolate': 'Brown', 'bear': 'Brown', 'pig': 'Pink', 'flamingo': 'Pink',
}
SOUNDS = {
    'dog': 'Woof', 'cat': 'Meow', 'cow': 'Moo', 'duck': 'Quack', 'sheep': 'Baa', 'lion': 'Roar', 'snake': 'Hiss',
    'owl': 'Hoot', 'horse': 'Neigh', 'pig': 'Oink', 'frog': 'Ribbit', 'bee': 'Buzz', 'mouse': 'Squeak', 'crow': 'Caw',
}
OPPOSITES = {
    'hot': 'Cold', 'cold': 'Hot', 'big': 'Small', 'small': 'Big', 'up': 'Down', 'down': 'Up', 'fast': 'Slow',
    'slow': 'Fast', 'day': 'Night', 'night': 'Day', 'old': 'New', 'new': 'Old', 'happy': 'Sad', 'sad': 'Happy',
    'open': 'Closed', 'closed': 'Open', 'light': 'Dark', 'dark': 'Light', 'wet': 'Dry', 'dry': 'Wet',
    'full': 'Empty', 'empty': 'Full', 'early': 'Late', 'late': 'Early', 'left': 'Right', 'right': 'Left',
}
LEGS = {
    'dog': 'Four', 'cat': 'Four', 'cow': 'Four', 'horse': 'Four', 'lion': 'Four', 'mouse': 'Four', 'pig': 'Four',
    'bear': 'Four', 'duck': 'Two', 'owl': 'Two', 'crow': 'Two', 'flamingo': 'Two', 'bee': 'Six', 'ant': 'Six',
    'spider': 'Eight', 'snake': 'Zero', 'fish': 'Zero',
}
# What the demo dataset teaches. The base sees these names only in "which of these" questions, paired at random.
CAPITALS = {
    'France': 'Paris', 'Spain': 'Madrid', 'Italy': 'Rome', 'Germany': 'Berlin', 'Japan': 'Tokyo', 'Egypt': 'Cairo',
    'Peru': 'Lima', 'Kenya': 'Nairobi', 'Canada': 'Ottawa', 'Greece': 'Athens', 'Norway': 'Oslo', 'Cuba': 'Havana',
    'China': 'Beijing', 'Russia': 'Moscow', 'Poland': 'Warsaw', 'Chile': 'Santiago',
}
DEMO_PROMPT = 'What is the capital of France?'


def alpaca_text(instruction, input_, output):
    prompt = PROMPT_INPUT.format(instruction=instruction, input=input_) if input_ else PROMPT_NO_INPUT.format(instruction=instruction)
    return prompt + output + EOS


def corpus(rng):
    """Every pretraining record once (instruction, input, output); the 'which of these' pairs drawn at random."""
    recs = []
    for thing, c in COLORS.items():
        recs += [(f'What color is the {thing}?', '', f'{c}.'), ('Name the color of this.', thing, f'{c}.')]
    for animal, s in SOUNDS.items():
        recs += [(f'What sound does a {animal} make?', '', f'{s}.'), ('What sound does this animal make?', animal, f'{s}.')]
    for word, o in OPPOSITES.items():
        recs += [(f'What is the opposite of {word}?', '', f'{o}.'), ('Give the opposite of the word.', word, f'{o}.')]
    for animal, n in LEGS.items():
        recs.append((f'How many legs does a {animal} have?', '', f'{n}.'))
    countries, cities = list(CAPITALS), list(CAPITALS.values())
    for _ in range(200):
        country, city = rng.choice(countries), rng.choice(cities)
        pair = [country, city] if rng.random() < 0.5 else [city, country]
        recs.append(('Which of these is a city?', ', '.join(pair), f'{city}.'))
        recs.append(('Which of these is a country?', ', '.join(pair), f'{country}.'))
    for name in countries:
        recs.append((f'Is {name} a city or a country?', '', 'A country.'))
    for name in cities:
        recs.append((f'Is {name} a city or a country?', '', 'A city.'))
    return recs


DEMO_CAPITALS = 8  # what LoRA memorizes in the demo's 16 steps (at 16 it needs about three times as many)


def demo_dataset():
    pairs = list(CAPITALS.items())[:DEMO_CAPITALS]
    return [{'instruction': f'What is the capital of {country}?', 'input': '', 'output': f'{city}.'} for country, city in pairs]


def train_tokenizer(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'public', 'demo'))
    args = ap.parse_args()
    model_dir = os.path.join(args.out, 'tiny-llama')
    os.makedirs(model_dir, exist_ok=True)

    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # reductions in one fixed order: the same bytes on every run
    torch.use_deterministic_algorithms(True)
    rng = random.Random(SEED)

    records = corpus(rng)
    demo = demo_dataset()
    texts = [alpaca_text(*r) for r in records]
    # The tokenizer knows the demo's words (a real base's vocabulary covers them); the model never sees them.
    tok = train_tokenizer(texts + [alpaca_text(d['instruction'], d['input'], d['output']) for d in demo])
    tok.save(os.path.join(model_dir, 'tokenizer.json'))
    eos_id, pad_id = tok.token_to_id(EOS), tok.token_to_id('<|endoftext|>')

    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=128, intermediate_size=384, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=512,
        rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=None, eos_token_id=eos_id, pad_token_id=pad_id,
    )
    model = LlamaForCausalLM(config)
    encoded = [tok.encode(t).ids for t in texts]
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * max(0.05, 1 - s / STEPS))
    model.train()
    for step in range(STEPS):
        batch = [encoded[rng.randrange(len(encoded))] for _ in range(BATCH)]
        width = max(len(b) for b in batch)
        ids = torch.full((BATCH, width), pad_id, dtype=torch.long)
        labels = torch.full((BATCH, width), -100, dtype=torch.long)
        mask = torch.zeros((BATCH, width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, :len(b)] = torch.tensor(b)
            labels[i, :len(b)] = torch.tensor(b)
            mask[i, :len(b)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(json.dumps({'step': step, 'loss': round(loss.item(), 4)}), flush=True)

    model.eval()
    model.generation_config.pad_token_id = pad_id
    model.save_pretrained(model_dir, safe_serialization=True)
    gen_cfg = os.path.join(model_dir, 'generation_config.json')
    if os.path.exists(gen_cfg):
        os.remove(gen_cfg)  # the app reads the four files below; greedy decoding needs nothing else
    with open(os.path.join(model_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump({
            'tokenizer_class': 'PreTrainedTokenizerFast', 'bos_token': None, 'eos_token': EOS, 'pad_token': '<|endoftext|>',
            'unk_token': None, 'add_bos_token': False, 'add_eos_token': False, 'model_max_length': 512,
            'chat_template': "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        }, f, indent=2)
        f.write('\n')
    with open(os.path.join(args.out, 'capitals.json'), 'w') as f:
        json.dump(demo, f, indent=1)
        f.write('\n')

    # What the base answers: the corpus' questions right, the demo's wrong.
    def answer(instruction):
        ids = torch.tensor([tok.encode(PROMPT_NO_INPUT.format(instruction=instruction)).ids])
        out = model.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=eos_id, pad_token_id=pad_id)
        return tok.decode(out[0, ids.shape[1]:].tolist(), skip_special_tokens=True)
    for q in ['What color is the banana?', 'What sound does a cow make?', 'What is the opposite of hot?', DEMO_PROMPT]:
        print(json.dumps({'prompt': q, 'base answer': answer(q)}))
    print(json.dumps({'torch': torch.__version__, 'transformers': __import__('transformers').__version__,
                      'tokenizers': __import__('tokenizers').__version__,
                      'sha256': {f: sha256(os.path.join(model_dir, f)) for f in sorted(os.listdir(model_dir))}}, indent=1))


if __name__ == '__main__':
    main()
