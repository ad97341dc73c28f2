#include "models/weights/pickle.h"

#include <cstring>
#include <map>
#include <unordered_map>

#include "models/base/error.h"

namespace s2v::weights::pickle {

namespace {

using Type = Value::Type;

ValuePtr make(Type t) {
  auto v = std::make_shared<Value>();
  v->type = t;
  return v;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'P': return "PERSID";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x92: return "NEWOBJ_EX";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'p': return "PUT";
    case 'g': return "GET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
  }
}

// Globals a state dict needs. Anything else is refused by name.
bool allowed_global(const std::string& g) {
  static const char* const ok[] = {
      "collections.OrderedDict",       "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_tensor",  "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state", "torch._tensor._rebuild_from_type_v2",
      "torch.Tensor",                  "torch.nn.parameter.Parameter",
      // torch::pickle_save (LibTorch) wraps typed containers as restore_type_tag(value, "Dict[str, Tensor]"):
      // an annotation only, the value is returned unchanged
      "torch.jit._pickle.restore_type_tag"};
  for (const char* o : ok)
    if (g == o) return true;
  return g.rfind("torch.", 0) == 0 && !storage_dtype(g.substr(6)).empty();
}

class Unpickler {
 public:
  Unpickler(const uint8_t* d, size_t n, std::string where) : d_(d), n_(n), where_(std::move(where)) {}

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;       // PROTO
        case 0x95: bytes(8); break;     // FRAME
        case '.':                       // STOP
          if (stack_.size() != 1) corrupt("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;
        case '}': push(make(Type::Dict)); break;
        case ']': push(make(Type::List)); break;
        case ')': push(make(Type::Tuple)); break;
        case 't': { auto v = make(Type::Tuple); v->items = pop_mark(); push(v); break; }
        case 'l': { auto v = make(Type::List); v->items = pop_mark(); push(v); break; }
        case 'd': { auto v = make(Type::Dict); set_items(v, pop_mark()); push(v); break; }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t k = op - 0x84;
          auto v = make(Type::Tuple);
          if (stack_.size() < k + floor()) corrupt("TUPLE" + std::to_string(k) + " on a short stack");
          v->items.assign(stack_.end() - k, stack_.end());
          stack_.resize(stack_.size() - k);
          push(v);
          break;
        }
        case 'a': { auto x = pop(); auto l = top(); need(l, Type::List, "APPEND"); l->items.push_back(x); break; }
        case 'e': { auto xs = pop_mark(); auto l = top(); need(l, Type::List, "APPENDS");
                    l->items.insert(l->items.end(), xs.begin(), xs.end()); break; }
        case 's': { auto v = pop(); auto k = pop(); auto m = top(); need(m, Type::Dict, "SETITEM");
                    m->dict.emplace_back(k, v); break; }
        case 'u': { auto xs = pop_mark(); auto m = top(); need(m, Type::Dict, "SETITEMS"); set_items(m, xs); break; }
        case 'N': push(make(Type::None)); break;
        case 0x88: case 0x89: { auto v = make(Type::Bool); v->b = op == 0x88; push(v); break; }
        case 'J': { int32_t x; std::memcpy(&x, bytes(4), 4); push_int(x); break; }
        case 'K': push_int(byte()); break;
        case 'M': { const uint8_t* p = bytes(2); push_int(p[0] | (p[1] << 8)); break; }
        case 0x8a: push_long(byte()); break;                    // LONG1
        case 0x8b: push_long(u32(bytes(4))); break;             // LONG4
        case 'G': {                                             // BINFLOAT, big-endian
          const uint8_t* p = bytes(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
          auto v = make(Type::Float);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'X': push_text(Type::String, u32(bytes(4))); break;     // BINUNICODE
        case 0x8c: push_text(Type::String, byte()); break;           // SHORT_BINUNICODE
        case 0x8d: push_text(Type::String, u64(bytes(8))); break;    // BINUNICODE8
        case 'T': push_text(Type::String, u32(bytes(4))); break;     // BINSTRING
        case 'U': push_text(Type::String, byte()); break;            // SHORT_BINSTRING
        case 'B': push_text(Type::Bytes, u32(bytes(4))); break;      // BINBYTES
        case 'C': push_text(Type::Bytes, byte()); break;             // SHORT_BINBYTES
        case 0x8e: push_text(Type::Bytes, u64(bytes(8))); break;     // BINBYTES8
        case 'q': memo_[byte()] = top(); break;                      // BINPUT
        case 'r': memo_[u32(bytes(4))] = top(); break;               // LONG_BINPUT
        case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = top(); break;  // MEMOIZE
        case 'h': push(get(byte())); break;                          // BINGET
        case 'j': push(get(u32(bytes(4)))); break;                   // LONG_BINGET
        case '0': pop(); break;                                      // POP
        case '1': pop_mark(); break;                                 // POP_MARK
        case '2': push(top()); break;                                // DUP
        case 'c': {                                                  // GLOBAL "module\nname\n"
          const std::string module = line(), name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {                                                 // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (module->type != Type::String || name->type != Type::String) corrupt("STACK_GLOBAL without two strings");
          push(global(module->s, name->s));
          break;
        }
        case 'R': { auto args = pop(); auto fn = pop(); push(call(fn, args)); break; }  // REDUCE
        case 0x81: {                                                 // NEWOBJ
          auto args = pop();
          auto cls = pop();
          if (cls->type != Type::Global || cls->s != "collections.OrderedDict") refuse_call(cls);
          push(make(Type::Dict));
          break;
        }
        case 'b': {                                                  // BUILD
          auto state = pop();
          auto obj = top();
          // OrderedDict state dicts carry {'_metadata': ...}; tensors may carry an empty state.
          if (obj->type != Type::Dict && obj->type != Type::Tensor)
            refuse("sets the state of a " + std::string(to_string(obj->type)) + " (BUILD)");
          break;
        }
        case 'Q': { auto pid = pop(); push(persistent_load(pid)); break; }  // BINPERSID
        default:
          refuse("uses pickle opcode 0x" + hex(op) + " (" + opcode_name(op) +
                 "), which a state dict never needs");
      }
    }
  }

 private:
  [[noreturn]] void corrupt(const std::string& why) const {
    throw Error("cannot read the pickle in " + where_ + ": " + why + " (at byte " + std::to_string(pos_) + ")",
                ErrorKind::Corrupt, where_);
  }
  [[noreturn]] void refuse(const std::string& why) const {
    throw Error("refusing to load " + where_ + ": its pickle " + why +
                    " (only tensors, dicts, lists, strings and numbers are accepted; nothing is executed)",
                ErrorKind::Unsupported, where_);
  }
  [[noreturn]] void refuse_call(const ValuePtr& fn) const {
    refuse("calls " + (fn->type == Type::Global ? fn->s : std::string("a ") + to_string(fn->type)) +
           " in a way a state dict never does");
  }
  static std::string hex(uint8_t v) {
    const char* h = "0123456789abcdef";
    return {h[v >> 4], h[v & 15]};
  }
  uint8_t byte() {
    if (pos_ >= n_) corrupt("the data ends before STOP (truncated)");
    return d_[pos_++];
  }
  const uint8_t* bytes(uint64_t k) {
    if (k > n_ - pos_) corrupt("the data ends inside a value (truncated)");
    const uint8_t* p = d_ + pos_;
    pos_ += k;
    return p;
  }
  static uint32_t u32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
  static uint64_t u64(const uint8_t* p) { return u32(p) | (static_cast<uint64_t>(u32(p + 4)) << 32); }
  std::string line() {
    const size_t start = pos_;
    while (pos_ < n_ && d_[pos_] != '\n') ++pos_;
    if (pos_ >= n_) corrupt("a GLOBAL name is not terminated");
    return std::string(reinterpret_cast<const char*>(d_ + start), pos_++ - start);
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.size() <= floor()) corrupt("a value is popped from an empty stack");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr top() {
    if (stack_.size() <= floor()) corrupt("a value is read from an empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) corrupt("MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  ValuePtr get(uint32_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) corrupt("memo entry " + std::to_string(k) + " is read before it is written");
    return it->second;
  }
  void need(const ValuePtr& v, Type t, const char* op) {
    if (v->type != t) corrupt(std::string(op) + " applied to a " + to_string(v->type));
  }
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& kv) {
    if (kv.size() % 2) corrupt("SETITEMS with an odd number of values");
    for (size_t k = 0; k < kv.size(); k += 2) dict->dict.emplace_back(kv[k], kv[k + 1]);
  }
  void push_int(int64_t x) {
    auto v = make(Type::Int);
    v->i = x;
    push(v);
  }
  void push_long(uint64_t len) {
    if (len > 8) refuse("holds an integer wider than 64 bits");
    const uint8_t* p = bytes(len);
    uint64_t x = 0;
    for (uint64_t k = 0; k < len; ++k) x |= static_cast<uint64_t>(p[k]) << (8 * k);
    if (len > 0 && len < 8 && (p[len - 1] & 0x80)) x |= ~0ull << (8 * len);  // sign-extend
    push_int(static_cast<int64_t>(x));
  }
  void push_text(Type t, uint64_t len) {
    const uint8_t* p = bytes(len);
    auto v = make(t);
    v->s.assign(reinterpret_cast<const char*>(p), len);
    push(v);
  }
  ValuePtr global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!allowed_global(full)) refuse("references " + full + ", which is not a tensor, storage or container");
    auto v = make(Type::Global);
    v->s = full;
    return v;
  }
  int64_t as_int(const ValuePtr& v, const char* what) {
    if (v->type != Type::Int) corrupt(std::string(what) + " is a " + to_string(v->type) + ", not an int");
    return v->i;
  }
  std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) {
    if (v->type != Type::Tuple && v->type != Type::List) corrupt(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (auto& x : v->items) out.push_back(as_int(x, what));
    return out;
  }
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a) {
    if (a.size() < 4 || a[0]->type != Type::Storage) corrupt("_rebuild_tensor has the wrong arguments");
    auto v = make(Type::Tensor);
    v->tensor.storage = a[0]->storage;
    v->tensor.offset = as_int(a[1], "a storage offset");
    v->tensor.shape = int_tuple(a[2], "a tensor size");
    v->tensor.stride = int_tuple(a[3], "a tensor stride");
    if (v->tensor.shape.size() != v->tensor.stride.size()) corrupt("a tensor's size and stride differ in length");
    return v;
  }
  ValuePtr call(const ValuePtr& fn, const ValuePtr& args) {
    if (fn->type != Type::Global) refuse_call(fn);
    if (args->type != Type::Tuple) corrupt("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    const std::string& f = fn->s;
    if (f == "collections.OrderedDict") {
      auto d = make(Type::Dict);
      if (!a.empty()) {
        if (a.size() != 1 || (a[0]->type != Type::List && a[0]->type != Type::Tuple)) refuse_call(fn);
        for (auto& kv : a[0]->items) {
          if ((kv->type != Type::Tuple && kv->type != Type::List) || kv->items.size() != 2) refuse_call(fn);
          d->dict.emplace_back(kv->items[0], kv->items[1]);
        }
      }
      return d;
    }
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
    if (f == "torch.jit._pickle.restore_type_tag") {
      if (a.size() != 2 || a[1]->type != Type::String) refuse_call(fn);
      return a[0];
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->type != Type::Tensor) corrupt("_rebuild_parameter without a tensor");
      return a[0];
    }
    if (f == "torch._tensor._rebuild_from_type_v2") {
      // (func, new_type, args, state): a plain Tensor or Parameter rebuilt by an allowed function.
      if (a.size() < 3 || a[1]->type != Type::Global ||
          (a[1]->s != "torch.Tensor" && a[1]->s != "torch.nn.parameter.Parameter"))
        refuse_call(fn);
      auto out = call(a[0], a[2]);
      if (out->type != Type::Tensor) refuse_call(fn);
      return out;
    }
    refuse_call(fn);
  }
  ValuePtr persistent_load(const ValuePtr& pid) {
    if (pid->type != Type::Tuple || pid->items.size() != 5 || pid->items[0]->type != Type::String ||
        pid->items[0]->s != "storage")
      refuse("uses a persistent id that is not a ('storage', type, key, location, numel) tuple");
    const auto& it = pid->items;
    if (it[1]->type != Type::Global) corrupt("a storage's type is not a storage class");
    const std::string cls = it[1]->s.substr(it[1]->s.rfind('.') + 1);
    const std::string dtype = storage_dtype(cls);
    if (dtype.empty()) refuse("uses storage type " + it[1]->s + ", which has no safetensors equivalent");
    if (it[2]->type != Type::String) corrupt("a storage key is not a string");
    auto& cached = storages_[it[2]->s];
    if (!cached) {
      cached = std::make_shared<StorageRef>();
      cached->dtype = dtype;
      cached->key = it[2]->s;
      cached->location = it[3]->type == Type::String ? it[3]->s : "";
      cached->numel = static_cast<uint64_t>(as_int(it[4], "a storage size"));
    }
    auto v = make(Type::Storage);
    v->storage = cached;
    return v;
  }

  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
  std::string where_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, ValuePtr> memo_;
  std::map<std::string, std::shared_ptr<StorageRef>> storages_;
};

}  // namespace

const char* to_string(Value::Type t) {
  switch (t) {
    case Type::None: return "None";
    case Type::Bool: return "bool";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::String: return "str";
    case Type::Bytes: return "bytes";
    case Type::Tuple: return "tuple";
    case Type::List: return "list";
    case Type::Dict: return "dict";
    case Type::Global: return "global";
    case Type::Storage: return "storage";
    case Type::Tensor: return "tensor";
  }
  return "?";
}

std::string storage_dtype(const std::string& c) {
  static const std::map<std::string, std::string> m = {
      {"FloatStorage", "F32"}, {"DoubleStorage", "F64"},  {"HalfStorage", "F16"},
      {"BFloat16Storage", "BF16"}, {"LongStorage", "I64"}, {"IntStorage", "I32"},
      {"ShortStorage", "I16"}, {"CharStorage", "I8"},     {"ByteStorage", "U8"},
      {"BoolStorage", "BOOL"}, {"UntypedStorage", "U8"}};
  auto it = m.find(c);
  return it == m.end() ? std::string() : it->second;
}

ValuePtr unpickle(const uint8_t* data, size_t size, const std::string& where) {
  return Unpickler(data, size, where).run();
}

}  // namespace s2v::weights::pickle
