// The fast path of capturing matches; see fastmatch.h. Covered by tests/parse/fastmatch_test.cc.
#include "parse/fastmatch.h"

#include <re2/re2.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CALLAUDIT_NIBBLES 1
#else
#define CALLAUDIT_NIBBLES 0
#endif

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

namespace callaudit {

struct FastMatcher::Node {
  enum Kind : std::uint8_t { lit, rep, save, alt, end, accept, fixed } kind = end;  // accept: see FastDispatch
  std::string text;                 // lit
  // fixed: one class per byte, over bytes 0..127: a run of literals and classes of a fixed
  // count (`\d{4}-\d{2}`), which can match in one way only, checked as one step
  std::vector<std::array<std::uint64_t, 2>> each;
  // fixed, when its positions use at most 8 distinct classes: bit j of member[c] says byte c
  // is in class j, need[i] is the bit of position i's class (8 positions checked at a time)
  bool by_class = false;
  std::uint8_t member[256] = {};
  std::vector<std::uint8_t> need;
  // fixed, when its classes split into at most 8 "rectangles" (a set of high nibbles times a
  // set of low nibbles; `[0-9a-f]` is two): bit b of lo_bits[c & 15] & hi_bits[c >> 4] says
  // byte c is in rectangle b, nibble_need[i] holds the rectangles of position i's class, so
  // 16 positions are checked at once with two table shuffles (SSSE3, where the CPU has it).
  // nibble_need has 16 zero bytes past the run, for the last, partial block's load.
  bool by_nibble = false;
  alignas(16) std::uint8_t lo_bits[16] = {};
  alignas(16) std::uint8_t hi_bits[16] = {};
  std::vector<std::uint8_t> nibble_need;
  std::uint64_t bits[2] = {0, 0};   // rep: the class, over bytes 0..127
  std::uint8_t in[256] = {};        // rep: the same class as a table (bytes from 0x80 never in it)
  bool dot = false;                 // rep: the class is every ASCII byte but '\n'
  bool possessive = false;          // rep: nothing after it can start with a byte of its class,
                                    // so of all its lengths only the longest can lead to a match
  size_t min = 1, max = 1;          // rep; max == npos: unbounded
  bool greedy = true;               // rep
  int slot = 0;                     // save
  const Node* next = nullptr;
  std::vector<const Node*> alts;    // alt, in priority order
  // A match from here can only start with one of these bytes, or at the end of the text when
  // `first_end`: lets the matcher skip a branch or a backtracking step without entering it.
  std::uint64_t first[2] = {0, 0};
  bool first_end = false;
  bool first_done = false;
};

namespace {

constexpr size_t kUnbounded = static_cast<size_t>(-1);

struct Ast {
  enum Kind { lit, cls, cat, alt, group, rep, empty } kind = empty;
  std::string text;                  // lit
  std::uint64_t bits[2] = {0, 0};    // cls
  std::vector<Ast> kids;             // cat, alt; group and rep: kids[0]
  int cap = -1;                      // group: capture index, or -1
  size_t min = 1, max = 1;
  bool greedy = true;

  bool operator==(const Ast& o) const {
    return kind == o.kind && text == o.text && bits[0] == o.bits[0] && bits[1] == o.bits[1] && kids == o.kids &&
           cap == o.cap && min == o.min && max == o.max && greedy == o.greedy;
  }
};

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}
  std::optional<Ast> parse() {
    auto a = parse_alt();
    if (!a || i_ != p_.size()) return std::nullopt;
    return a;
  }
  int groups = 0;
  std::map<std::string, int> names;

 private:
  std::optional<Ast> parse_alt() {
    Ast out;
    out.kind = Ast::alt;
    for (;;) {
      auto c = parse_cat();
      if (!c) return std::nullopt;
      out.kids.push_back(std::move(*c));
      if (i_ < p_.size() && p_[i_] == '|') {
        ++i_;
        continue;
      }
      break;
    }
    if (out.kids.size() == 1) return std::move(out.kids[0]);
    return out;
  }

  std::optional<Ast> parse_cat() {
    Ast out;
    out.kind = Ast::cat;
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      auto a = parse_atom();
      if (!a) return std::nullopt;
      if (i_ < p_.size() && (p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '?' || p_[i_] == '{')) {
        auto r = parse_quantifier(std::move(*a));
        if (!r) return std::nullopt;
        a = std::move(r);
        // RE2 rejects a repetition of a repetition; never seen here, but do not guess
        if (i_ < p_.size() && (p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '{')) return std::nullopt;
        out.kids.push_back(std::move(*a));
        continue;
      }
      if (a->kind == Ast::lit && !out.kids.empty() && out.kids.back().kind == Ast::lit && !last_quantified_)
        out.kids.back().text += a->text;
      else
        out.kids.push_back(std::move(*a));
      last_quantified_ = false;
    }
    last_quantified_ = false;
    if (out.kids.empty()) return Ast{};
    if (out.kids.size() == 1) return std::move(out.kids[0]);
    return out;
  }

  std::optional<Ast> parse_quantifier(Ast atom) {
    size_t mn = 0, mx = kUnbounded;
    char q = p_[i_];
    if (q == '*') {
      ++i_;
    } else if (q == '+') {
      mn = 1;
      ++i_;
    } else if (q == '?') {
      mx = 1;
      ++i_;
    } else {  // {n}, {n,}, {n,m}; anything else would be a literal brace to RE2: not handled
      size_t j = i_ + 1;
      auto num = [&](size_t& out) {
        size_t start = j, v = 0;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9' && j - start < 5) v = v * 10 + static_cast<size_t>(p_[j++] - '0');
        if (j == start) return false;
        out = v;
        return true;
      };
      if (!num(mn)) return std::nullopt;
      if (j < p_.size() && p_[j] == '}') {
        mx = mn;
      } else if (j < p_.size() && p_[j] == ',') {
        ++j;
        if (j < p_.size() && p_[j] == '}')
          mx = kUnbounded;
        else if (!num(mx))
          return std::nullopt;
        if (mx < mn) return std::nullopt;
      } else {
        return std::nullopt;
      }
      if (j >= p_.size() || p_[j] != '}') return std::nullopt;
      if (mn > 1000 || (mx != kUnbounded && mx > 1000)) return std::nullopt;
      i_ = j + 1;
    }
    bool greedy = true;
    if (i_ < p_.size() && p_[i_] == '?') {
      greedy = false;
      ++i_;
    }
    last_quantified_ = true;
    if (atom.kind == Ast::lit && atom.text.size() == 1) {
      auto c = static_cast<unsigned char>(atom.text[0]);
      atom.kind = Ast::cls;
      atom.bits[c >> 6] |= std::uint64_t{1} << (c & 63);
      atom.text.clear();
    }
    Ast r;
    r.kind = Ast::rep;
    r.min = mn;
    r.max = mx;
    r.greedy = greedy;
    if (atom.kind == Ast::cls) {
      r.bits[0] = atom.bits[0];
      r.bits[1] = atom.bits[1];
      return r;
    }
    // A group (or anything longer than one character) may only be optional.
    if (!(mn == 0 && mx == 1)) return std::nullopt;
    r.kids.push_back(std::move(atom));
    return r;
  }

  // The class an atom's text stands for, read from RE2 itself byte by byte.
  static std::optional<Ast> class_of(std::string_view atom) {
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re(std::string(atom), o);
    if (!re.ok() || re.NumberOfCapturingGroups() != 0) return std::nullopt;
    Ast a;
    a.kind = Ast::cls;
    for (int c = 0; c < 128; ++c) {
      char ch = static_cast<char>(c);
      if (RE2::FullMatch(re2::StringPiece(&ch, 1), re)) a.bits[c >> 6] |= std::uint64_t{1} << (c & 63);
    }
    return a;
  }

  static bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  std::optional<Ast> parse_atom() {
    char c = p_[i_];
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    switch (c) {
      case '(': {
        ++i_;
        int cap = -1;
        if (p_.substr(i_, 2) == "?:") {
          i_ += 2;
        } else if (p_.substr(i_, 3) == "?P<") {
          size_t close = p_.find('>', i_ + 3);
          if (close == std::string_view::npos) return std::nullopt;
          std::string name(p_.substr(i_ + 3, close - i_ - 3));
          cap = ++groups;
          if (!names.emplace(name, cap).second) return std::nullopt;
          i_ = close + 1;
        } else if (i_ < p_.size() && p_[i_] == '?') {
          return std::nullopt;  // flags and other group kinds
        } else {
          cap = ++groups;
        }
        auto inner = parse_alt();
        if (!inner || i_ >= p_.size() || p_[i_] != ')') return std::nullopt;
        ++i_;
        Ast g;
        g.kind = Ast::group;
        g.cap = cap;
        g.kids.push_back(std::move(*inner));
        return g;
      }
      case '[': {
        // [^...], a ']' first is literal, escapes, [:name:]
        size_t j = i_ + 1;
        if (j < p_.size() && p_[j] == '^') ++j;
        if (j < p_.size() && p_[j] == ']') ++j;
        for (;;) {
          if (j >= p_.size()) return std::nullopt;
          char d = p_[j];
          if (static_cast<unsigned char>(d) >= 0x80) return std::nullopt;
          if (d == ']') break;
          if (d == '\\') {
            if (j + 1 >= p_.size()) return std::nullopt;
            char e = p_[j + 1];
            if (is_alnum(e) && std::string_view("dDsSwWtnr").find(e) == std::string_view::npos) return std::nullopt;
            j += 2;
            continue;
          }
          if (d == '[') {
            if (j + 1 < p_.size() && p_[j + 1] == ':') {
              size_t end = p_.find(":]", j + 2);
              if (end == std::string_view::npos) return std::nullopt;
              j = end + 2;
              continue;
            }
          }
          ++j;
        }
        auto a = class_of(p_.substr(i_, j + 1 - i_));
        i_ = j + 1;
        return a;
      }
      case '.': {
        ++i_;
        return class_of(".");
      }
      case '\\': {
        if (i_ + 1 >= p_.size()) return std::nullopt;
        char e = p_[i_ + 1];
        if (static_cast<unsigned char>(e) >= 0x80) return std::nullopt;
        if (std::string_view("dDsSwW").find(e) != std::string_view::npos) {
          auto a = class_of(p_.substr(i_, 2));
          i_ += 2;
          return a;
        }
        Ast a;
        a.kind = Ast::lit;
        if (e == 't' || e == 'n' || e == 'r') {
          a.text.assign(1, e == 't' ? '\t' : e == 'n' ? '\n' : '\r');
        } else if (is_alnum(e)) {
          return std::nullopt;  // \b, \pL, \x41, \Q, \A, \z, \C ...: left to RE2
        } else {
          a.text = std::string(1, e);
        }
        i_ += 2;
        return a;
      }
      case '^':
      case '$':
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ']':
        return std::nullopt;
      default: {
        ++i_;
        Ast a;
        a.kind = Ast::lit;
        a.text = std::string(1, c);
        return a;
      }
    }
  }

  std::string_view p_;
  size_t i_ = 0;
  bool last_quantified_ = false;
};

}  // namespace

namespace {

// Fills the `first` sets of `n` and of every node after it.
void compute_first(const FastMatcher::Node* cn) {
  using Node = FastMatcher::Node;
  auto* n = const_cast<Node*>(cn);  // every node is owned, mutable, by its matcher
  if (n->first_done) return;
  n->first_done = true;
  auto add = [n](const Node* o) {
    compute_first(o);
    n->first[0] |= o->first[0];
    n->first[1] |= o->first[1];
    n->first_end = n->first_end || o->first_end;
  };
  switch (n->kind) {
    case Node::lit: {
      auto c = static_cast<unsigned char>(n->text[0]);
      if (c < 128) n->first[c >> 6] |= std::uint64_t{1} << (c & 63);
      compute_first(n->next);
      break;
    }
    case Node::rep:
      n->first[0] = n->bits[0];
      n->first[1] = n->bits[1];
      if (n->min == 0) add(n->next);
      else compute_first(n->next);
      // A shorter run would leave a byte of the class first for what follows, which cannot
      // start with one (the end of the text cannot be there either: the longer run went on).
      n->possessive = ((n->bits[0] & n->next->first[0]) | (n->bits[1] & n->next->first[1])) == 0;
      break;
    case Node::fixed:
      n->first[0] = n->each[0][0];
      n->first[1] = n->each[0][1];
      compute_first(n->next);
      break;
    case Node::save:
      add(n->next);
      break;
    case Node::alt:
      for (const Node* a : n->alts) add(a);
      break;
    case Node::end:
      n->first_end = true;
      break;
    case Node::accept:  // FastDispatch sets the rests' first bytes before this is reached
      n->first[0] = n->first[1] = ~std::uint64_t{0};
      n->first_end = true;
      break;
  }
}

// Splits the classes of a fixed run into rectangles of nibbles (see Node::by_nibble), when
// 8 bits are enough for all of them.
void set_nibbles(FastMatcher::Node* n) {
  struct Rect {
    std::uint8_t highs = 0;   // high nibbles 0..7 (bytes from 0x80 are in no class)
    std::uint16_t lows = 0;   // low nibbles
    bool operator==(const Rect&) const = default;
  };
  std::vector<Rect> rects;
  std::vector<std::uint8_t> need;
  std::vector<std::pair<std::array<std::uint64_t, 2>, std::uint8_t>> seen;  // class -> its rectangles
  for (const auto& m : n->each) {
    auto known = std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.first == m; });
    if (known != seen.end()) {
      need.push_back(known->second);
      continue;
    }
    // the low nibbles of the class under each high nibble; equal sets of lows make one rectangle
    std::uint16_t lows_of[8] = {};
    for (unsigned c = 0; c < 128; ++c)
      if ((m[c >> 6] >> (c & 63)) & 1) lows_of[c >> 4] = static_cast<std::uint16_t>(lows_of[c >> 4] | 1u << (c & 15));
    std::uint8_t bits = 0;
    for (unsigned h = 0; h < 8; ++h) {
      if (lows_of[h] == 0) continue;
      Rect r;
      for (unsigned g = 0; g < 8; ++g)
        if (lows_of[g] == lows_of[h]) r.highs = static_cast<std::uint8_t>(r.highs | 1u << g);
      r.lows = lows_of[h];
      size_t b = static_cast<size_t>(std::find(rects.begin(), rects.end(), r) - rects.begin());
      if (b == rects.size()) {
        if (rects.size() == 8) return;  // too many: the other checks stay
        rects.push_back(r);
      }
      bits = static_cast<std::uint8_t>(bits | 1u << b);
    }
    need.push_back(bits);  // 0 for an empty class: never matches, as it should
    seen.emplace_back(m, bits);
  }
  for (size_t b = 0; b < rects.size(); ++b)
    for (unsigned x = 0; x < 16; ++x) {
      if ((rects[b].lows >> x) & 1) n->lo_bits[x] = static_cast<std::uint8_t>(n->lo_bits[x] | 1u << b);
      if (x < 8 && ((rects[b].highs >> x) & 1)) n->hi_bits[x] = static_cast<std::uint8_t>(n->hi_bits[x] | 1u << b);
    }
  need.resize(need.size() + 16, 0);
  n->nibble_need = std::move(need);
  n->by_nibble = true;
}

// A node that matches a fixed number of bytes in one way only: a literal, or a class
// repeated exactly n times (n >= 1), or such a run already joined.
bool fixed_width(const FastMatcher::Node* n) {
  using Node = FastMatcher::Node;
  return n->kind == Node::lit || n->kind == Node::fixed ||
         (n->kind == Node::rep && n->min == n->max && n->min >= 1 && n->max != kUnbounded);
}

void append_fixed(const FastMatcher::Node* n, std::vector<std::array<std::uint64_t, 2>>& each) {
  using Node = FastMatcher::Node;
  if (n->kind == Node::lit) {
    for (char ch : n->text) {
      const auto c = static_cast<unsigned char>(ch);
      std::array<std::uint64_t, 2> m{0, 0};
      if (c < 128) m[c >> 6] = std::uint64_t{1} << (c & 63);  // a non-ASCII byte: nothing matches it
      each.push_back(m);
    }
  } else if (n->kind == Node::fixed) {
    each.insert(each.end(), n->each.begin(), n->each.end());
  } else {
    for (size_t i = 0; i < n->min; ++i) each.push_back({n->bits[0], n->bits[1]});
  }
}

// Each chain of two or more fixed-width nodes becomes one `fixed` node at its head: the chain
// can match in one way only, so checking its bytes in one loop gives the same match in fewer
// steps. The nodes of the chain stay as they are for whatever else leads into them. Run
// after compute_first(): a head's first bytes are those of the chain.
void join_fixed(std::vector<std::unique_ptr<FastMatcher::Node>>& nodes) {
  using Node = FastMatcher::Node;
  for (auto& up : nodes) {
    Node* n = up.get();
    if (!fixed_width(n) || n->next == nullptr || !fixed_width(n->next)) continue;
    std::vector<std::array<std::uint64_t, 2>> each;
    const Node* last = n;
    append_fixed(n, each);
    while (last->next != nullptr && fixed_width(last->next)) {
      last = last->next;
      append_fixed(last, each);
    }
    n->kind = Node::fixed;
    n->each = std::move(each);
    n->next = last->next;
  }
  for (auto& up : nodes) {
    Node* n = up.get();
    if (n->kind != Node::fixed) continue;
    std::vector<std::array<std::uint64_t, 2>> classes;
    std::vector<std::uint8_t> need;
    for (const auto& m : n->each) {
      size_t j = static_cast<size_t>(std::find(classes.begin(), classes.end(), m) - classes.begin());
      if (j == classes.size()) classes.push_back(m);
      if (classes.size() > 8) break;
      need.push_back(static_cast<std::uint8_t>(1u << j));
    }
    set_nibbles(n);
    n->by_class = classes.size() <= 8;
    if (!n->by_class) continue;
    n->need = std::move(need);
    for (size_t j = 0; j < classes.size(); ++j)
      for (unsigned c = 0; c < 128; ++c)
        if ((classes[j][c >> 6] >> (c & 63)) & 1) n->member[c] |= static_cast<std::uint8_t>(1u << j);
  }
}

inline bool may_start(const FastMatcher::Node* n, const char* s, size_t pos, size_t len) {
  if (pos == len) return n->first_end;
  auto c = static_cast<unsigned char>(s[pos]);
  return c < 128 && ((n->first[c >> 6] >> (c & 63)) & 1);
}

struct Linker {
  std::vector<std::unique_ptr<FastMatcher::Node>>& nodes;
  FastMatcher::Node* make(FastMatcher::Node::Kind k, const FastMatcher::Node* next) {
    nodes.push_back(std::make_unique<FastMatcher::Node>());
    nodes.back()->kind = k;
    nodes.back()->next = next;
    return nodes.back().get();
  }
  const FastMatcher::Node* link(const Ast& a, const FastMatcher::Node* next) {
    using N = FastMatcher::Node;
    switch (a.kind) {
      case Ast::empty:
        return next;
      case Ast::lit: {
        N* n = make(N::lit, next);
        n->text = a.text;
        return n;
      }
      case Ast::cls:
      case Ast::rep: {
        if (a.kind == Ast::rep && !a.kids.empty()) {  // an optional group
          N* n = make(N::alt, nullptr);
          const N* inner = link(a.kids[0], next);
          if (a.greedy)
            n->alts = {inner, next};
          else
            n->alts = {next, inner};
          return n;
        }
        N* n = make(N::rep, next);
        n->bits[0] = a.bits[0];
        n->bits[1] = a.bits[1];
        for (int c = 0; c < 128; ++c) n->in[c] = (a.bits[c >> 6] >> (c & 63)) & 1;
        n->dot = a.bits[0] == ~(std::uint64_t{1} << '\n') && a.bits[1] == ~std::uint64_t{0};
        n->min = a.kind == Ast::cls ? 1 : a.min;
        n->max = a.kind == Ast::cls ? 1 : a.max;
        n->greedy = a.greedy;
        return n;
      }
      case Ast::cat: {
        const N* n = next;
        for (auto it = a.kids.rbegin(); it != a.kids.rend(); ++it) n = link(*it, n);
        return n;
      }
      case Ast::alt: {
        N* n = make(N::alt, nullptr);
        for (const auto& k : a.kids) n->alts.push_back(link(k, next));
        return n;
      }
      case Ast::group: {
        if (a.cap < 0) return link(a.kids[0], next);
        N* close = make(N::save, next);
        close->slot = 2 * a.cap + 1;
        N* open = make(N::save, link(a.kids[0], close));
        open->slot = 2 * a.cap;
        return open;
      }
    }
    return next;
  }
};
}  // namespace

namespace {

// The pattern's tree and its number of groups, when the matcher can reproduce RE2 on it.
std::optional<std::pair<Ast, int>> checked_ast(std::string_view pattern, const re2::RE2& re) {
  std::string_view p = pattern;
  if (!p.empty() && p.front() == '^') p.remove_prefix(1);
  if (!p.empty() && p.back() == '$') {
    size_t slashes = 0;
    for (size_t k = p.size() - 1; k > 0 && p[k - 1] == '\\'; --k) ++slashes;
    if (slashes % 2 == 0) p.remove_suffix(1);
  }
  Parser parser(p);
  auto ast = parser.parse();
  if (!ast) return std::nullopt;
  if (parser.groups != re.NumberOfCapturingGroups()) return std::nullopt;
  const auto& named = re.NamedCapturingGroups();
  if (named.size() != parser.names.size()) return std::nullopt;
  for (const auto& [name, idx] : named) {
    auto it = parser.names.find(name);
    if (it == parser.names.end() || it->second != idx) return std::nullopt;
  }
  return std::make_pair(std::move(*ast), parser.groups);
}

}  // namespace

std::unique_ptr<FastMatcher> FastMatcher::compile(std::string_view pattern, const re2::RE2& re) {
  auto ast = checked_ast(pattern, re);
  if (!ast) return nullptr;
  auto m = std::unique_ptr<FastMatcher>(new FastMatcher());
  Linker l{m->nodes_};
  const Node* end = l.make(Node::end, nullptr);
  m->start_ = l.link(ast->first, end);
  m->ngroups_ = ast->second;
  compute_first(m->start_);
  join_fixed(m->nodes_);
  return m;
}

FastMatcher::~FastMatcher() = default;

int FastMatcher::nibble_runs() const {
  return static_cast<int>(std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) {
    return n->kind == Node::fixed && n->by_nibble;
  }));
}

bool FastMatcher::is_ascii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size(), i = 0;
  std::uint64_t acc = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return (acc & 0x8080808080808080ULL) == 0;
}

namespace {

#if CALLAUDIT_NIBBLES
bool have_ssse3() {
  static const bool has = __builtin_cpu_supports("ssse3");
  return has;
}

// Bit i set: position i of the 16 bytes at p is not in its class (need: the positions' rectangles).
__attribute__((target("ssse3"))) inline unsigned nibble_misses(const FastMatcher::Node* n, const unsigned char* p,
                                                                const std::uint8_t* need) {
  const __m128i lo_t = _mm_load_si128(reinterpret_cast<const __m128i*>(n->lo_bits));
  const __m128i hi_t = _mm_load_si128(reinterpret_cast<const __m128i*>(n->hi_bits));
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i lo = _mm_and_si128(v, low4);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
  const __m128i in = _mm_and_si128(_mm_shuffle_epi8(lo_t, lo), _mm_shuffle_epi8(hi_t, hi));
  const __m128i got = _mm_and_si128(in, _mm_loadu_si128(reinterpret_cast<const __m128i*>(need)));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(got, _mm_setzero_si128())));
}

// The k bytes at p against a fixed run's rectangles, 16 at a time; `avail` (>= k) bytes may be
// read from p. The last, partial block is read whole when the text has room for it, and its
// positions past the run are not looked at; otherwise it is checked byte by byte.
__attribute__((target("ssse3"))) bool fixed_by_nibbles(const FastMatcher::Node* n, const unsigned char* p, size_t k,
                                                        size_t avail) {
  const std::uint8_t* need = n->nibble_need.data();
  size_t i = 0;
  for (; i + 16 <= k; i += 16)
    if (nibble_misses(n, p + i, need + i) != 0) return false;
  if (i == k) return true;
  if (avail - i >= 16) return (nibble_misses(n, p + i, need + i) & ((1u << (k - i)) - 1)) == 0;
  for (; i < k; ++i)
    if ((n->lo_bits[p[i] & 15] & (p[i] < 128 ? n->hi_bits[p[i] >> 4] : 0) & need[i]) == 0) return false;
  return true;
}
#endif

struct Run {
  const char* s;
  size_t len;
  int* caps;
  std::vector<std::pair<int, int>>* trail;  // (slot, old value), undone on backtracking
  std::int64_t steps = 0;
  std::int64_t budget = 0;
  bool gave_up = false;
  std::vector<int>* ways = nullptr;  // accept: (end, slots...) of each way, in priority order
  int slots = 0;
  static constexpr size_t kMaxWays = 32;

  void undo(size_t mark) {
    while (trail->size() > mark) {
      caps[trail->back().first] = trail->back().second;
      trail->pop_back();
    }
  }

  bool run(const FastMatcher::Node* n, size_t pos) {
    using Node = FastMatcher::Node;
    for (;;) {
      if (++steps > budget) {
        gave_up = true;
        return false;
      }
      switch (n->kind) {
        case Node::end:
          return pos == len;
        case Node::accept:  // keep this way and go on to the next
          if (ways->size() >= kMaxWays * (static_cast<size_t>(slots) + 1)) {
            gave_up = true;
            return false;
          }
          ways->push_back(static_cast<int>(pos));
          ways->insert(ways->end(), caps, caps + slots);
          return false;
        case Node::lit: {
          size_t k = n->text.size();
          if (len - pos < k || s[pos] != n->text[0] || (k > 1 && std::memcmp(s + pos + 1, n->text.data() + 1, k - 1) != 0))
            return false;
          pos += k;
          n = n->next;
          break;
        }
        case Node::fixed: {
          const size_t k = n->each.size();
          if (len - pos < k) return false;
          const auto* p = reinterpret_cast<const unsigned char*>(s + pos);
#if CALLAUDIT_NIBBLES
          if (n->by_nibble && have_ssse3()) {
            if (!fixed_by_nibbles(n, p, k, len - pos)) return false;
          } else
#endif
          if (n->by_class) {
            // each byte's classes, masked by its position's: a zero byte is a mismatch
            const std::uint8_t* need = n->need.data();
            size_t i = 0;
            for (; i + 8 <= k; i += 8) {
              std::uint64_t got = 0;
              for (size_t j = 0; j < 8; ++j) got |= static_cast<std::uint64_t>(n->member[p[i + j]]) << (8 * j);
              std::uint64_t want;
              std::memcpy(&want, need + i, 8);
              const std::uint64_t x = got & want;
              if (((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0) return false;
            }
            for (; i < k; ++i)
              if ((n->member[p[i]] & need[i]) == 0) return false;
          } else {
            const auto* m = n->each.data();
            for (size_t i = 0; i < k; ++i) {
              const unsigned c = p[i];
              if (c >= 128 || ((m[i][c >> 6] >> (c & 63)) & 1) == 0) return false;
            }
          }
          pos += k;
          n = n->next;
          break;
        }
        case Node::save:
          trail->emplace_back(n->slot, caps[n->slot]);
          caps[n->slot] = static_cast<int>(pos);
          n = n->next;
          break;
        case Node::rep: {
          size_t room = len - pos;
          size_t most = n->max == kUnbounded || n->max > room ? room : n->max;
          size_t k = 0;
          if (n->dot) {
            const void* nl = most > 0 ? std::memchr(s + pos, '\n', most) : nullptr;
            k = nl != nullptr ? static_cast<size_t>(static_cast<const char*>(nl) - (s + pos)) : most;
          } else {
            const char* p = s + pos;
            while (k < most && n->in[static_cast<unsigned char>(p[k])]) ++k;
          }
          if (k < n->min) return false;
          if (k == n->min || n->possessive) {
            pos += k;
            n = n->next;
            break;
          }
          size_t mark = trail->size();
          if (n->greedy) {
            for (size_t j = k; j > n->min; --j) {
              if (!may_start(n->next, s, pos + j, len)) continue;
              if (run(n->next, pos + j)) return true;
              if (gave_up) return false;
              undo(mark);
            }
            pos += n->min;
          } else {
            for (size_t j = n->min; j < k; ++j) {
              if (!may_start(n->next, s, pos + j, len)) continue;
              if (run(n->next, pos + j)) return true;
              if (gave_up) return false;
              undo(mark);
            }
            pos += k;
          }
          n = n->next;
          break;
        }
        case Node::alt: {
          size_t mark = trail->size();
          for (size_t i = 0; i + 1 < n->alts.size(); ++i) {
            if (!may_start(n->alts[i], s, pos, len)) continue;
            if (run(n->alts[i], pos)) return true;
            if (gave_up) return false;
            undo(mark);
          }
          n = n->alts.back();
          break;
        }
      }
    }
  }
};

}  // namespace

FastMatcher::Outcome FastMatcher::match(std::string_view text, std::vector<int>& caps,
                                        std::vector<std::pair<int, int>>& trail) const {
  caps.assign(2 * static_cast<size_t>(ngroups_ + 1), -1);
  if (text.size() > (1u << 30)) return Outcome::gave_up;
  trail.clear();
  Run r{text.data(), text.size(), caps.data(), &trail};
  // Backtracking is bounded: past this many steps RE2 (linear time) answers instead.
  r.budget = 64 * static_cast<std::int64_t>(text.size()) + 512;
  bool ok = r.run(start_, 0);
  if (r.gave_up) return Outcome::gave_up;
  if (!ok) return Outcome::no_match;
  caps[0] = 0;
  caps[1] = static_cast<int>(text.size());
  return Outcome::match;
}

namespace {

// A pattern's top-level atoms, literals split into single characters so that two patterns'
// shared atoms can end inside a literal.
std::vector<Ast> atoms_of(const Ast& a) {
  std::vector<Ast> kids;
  if (a.kind == Ast::cat)
    kids = a.kids;
  else if (a.kind != Ast::empty)
    kids.push_back(a);
  std::vector<Ast> out;
  for (auto& k : kids) {
    if (k.kind != Ast::lit || k.text.size() == 1) {
      out.push_back(std::move(k));
      continue;
    }
    for (char c : k.text) {
      Ast one;
      one.kind = Ast::lit;
      one.text.assign(1, c);
      out.push_back(std::move(one));
    }
  }
  return out;
}

// The concatenation of atoms [b, e), literals joined again.
Ast join(std::vector<Ast>::const_iterator b, std::vector<Ast>::const_iterator e) {
  Ast out;
  out.kind = Ast::cat;
  for (auto it = b; it != e; ++it) {
    if (it->kind == Ast::lit && !out.kids.empty() && out.kids.back().kind == Ast::lit)
      out.kids.back().text += it->text;
    else
      out.kids.push_back(*it);
  }
  if (out.kids.empty()) return Ast{};
  if (out.kids.size() == 1) return std::move(out.kids[0]);
  return out;
}

size_t common_atoms(const std::vector<Ast>& a, const std::vector<Ast>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

std::unique_ptr<FastDispatch> FastDispatch::compile(const std::vector<Input>& patterns, size_t min_shared) {
  std::vector<std::vector<Ast>> atoms;
  int most_groups = 0;
  for (const auto& in : patterns) {
    if (in.re == nullptr) return nullptr;
    auto ast = checked_ast(in.pattern, *in.re);
    if (!ast) return nullptr;
    atoms.push_back(atoms_of(ast->first));
    most_groups = std::max(most_groups, ast->second);
  }
  // Groups of consecutive patterns with at least min_shared atoms in common.
  std::vector<std::pair<size_t, size_t>> spans;  // per group: its first pattern, the atoms its members share
  std::vector<std::vector<int>> members;
  for (size_t i = 0; i < atoms.size(); ++i) {
    if (!members.empty()) {
      auto& [first, shared] = spans.back();
      size_t n = common_atoms(atoms[first], atoms[i]);
      n = std::min(n, shared);
      if (n >= std::max<size_t>(min_shared, 1)) {
        shared = n;
        members.back().push_back(static_cast<int>(i));
        continue;
      }
    }
    spans.emplace_back(i, atoms[i].size());
    members.push_back({static_cast<int>(i)});
  }
  auto d = std::unique_ptr<FastDispatch>(new FastDispatch());
  d->slots_ = 2 * (most_groups + 1);
  Linker l{d->nodes_};
  const FastMatcher::Node* end = l.make(FastMatcher::Node::end, nullptr);
  for (size_t r = 0; r < spans.size(); ++r) {
    Group g;
    // A lone pattern shares nothing: it is matched whole from the start.
    size_t shared = members[r].size() > 1 ? spans[r].second : 0;
    FastMatcher::Node* accept = nullptr;
    if (shared > 0) {
      const auto& a = atoms[spans[r].first];
      accept = l.make(FastMatcher::Node::accept, nullptr);
      g.shared = l.link(join(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(shared)), accept);
    }
    for (int i : members[r]) {
      const auto& a = atoms[static_cast<size_t>(i)];
      const FastMatcher::Node* rest = l.link(join(a.begin() + static_cast<std::ptrdiff_t>(shared), a.end()), end);
      compute_first(rest);
      if (accept != nullptr) {  // a way is worth keeping only where some rest can start
        accept->first[0] |= rest->first[0];
        accept->first[1] |= rest->first[1];
        accept->first_end = accept->first_end || rest->first_end;
      }
      g.rests.emplace_back(i, rest);
    }
    if (accept != nullptr) {
      accept->first_done = true;
      compute_first(g.shared);
    }
    d->groups_.push_back(std::move(g));
  }
  join_fixed(d->nodes_);
  return d;
}

FastDispatch::~FastDispatch() = default;

std::vector<std::vector<int>> FastDispatch::groups() const {
  std::vector<std::vector<int>> out;
  for (const auto& g : groups_) {
    out.emplace_back();
    for (const auto& [i, rest] : g.rests) out.back().push_back(i);
  }
  return out;
}

FastMatcher::Outcome FastDispatch::match(std::string_view text, int& index, std::vector<int>& caps,
                                         std::vector<std::pair<int, int>>& trail, std::vector<int>& ways) const {
  using Outcome = FastMatcher::Outcome;
  if (text.size() > (1u << 30)) return Outcome::gave_up;
  const auto budget = 64 * static_cast<std::int64_t>(text.size()) + 512;
  const size_t stride = static_cast<size_t>(slots_) + 1;
  for (const auto& g : groups_) {
    ways.clear();
    caps.assign(static_cast<size_t>(slots_), -1);
    if (g.shared != nullptr) {
      trail.clear();
      Run r{text.data(), text.size(), caps.data(), &trail};
      r.budget = budget;
      r.ways = &ways;
      r.slots = slots_;
      r.run(g.shared, 0);  // every way ends in `accept`, which goes on to the next
      if (r.gave_up) return Outcome::gave_up;
      if (ways.empty()) continue;
    } else {
      ways.push_back(0);
      ways.insert(ways.end(), caps.begin(), caps.end());
    }
    for (const auto& [i, rest] : g.rests) {
      for (size_t w = 0; w < ways.size(); w += stride) {
        if (!may_start(rest, text.data(), static_cast<size_t>(ways[w]), text.size())) continue;
        std::copy(ways.begin() + static_cast<std::ptrdiff_t>(w + 1),
                  ways.begin() + static_cast<std::ptrdiff_t>(w + stride), caps.begin());
        trail.clear();
        Run r{text.data(), text.size(), caps.data(), &trail};
        r.budget = budget;
        if (r.run(rest, static_cast<size_t>(ways[w]))) {
          index = i;
          caps[0] = 0;
          caps[1] = static_cast<int>(text.size());
          return Outcome::match;
        }
        if (r.gave_up) return Outcome::gave_up;
      }
    }
  }
  return Outcome::no_match;
}

}  // namespace callaudit
